"""Tests of the ``generic_csv`` adapter: a CSV read through the column and status mapping of its source.

The CSVs are CONSTRUCTED: one in the shape of an SMPP aggregator's portal export, one with
semicolons and day-first dates, as such exports come.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.unit.reports.helpers import numbered, only_reports, seed_row

from sms_tracking.config import load_sources
from sms_tracking.reports import FORMATS
from sms_tracking.reports.base import ParseContext, Reject, Report
from sms_tracking.reports.generic_csv import parse as parse_csv, read_options

OPTIONS = {
    "column.provider_message_id": "msg_id",
    "column.raw_status": "state",
    "column.raw_error": "code",
    "column.event_at": "done",
    "column.submitted_at": "submitted",
    "column.phone": "msisdn",
    "column.sender": "from",
    "column.segments": "parts",
    "column.price": "cost",
    "status.OK": "DELIVRD",
    "status.Failed": "UNDELIV",
    "status.Expired": "EXPIRED",
    "price_unit": "eur",
    "default_region": "FR",
}
"""The mapping of the constructed aggregator export onto SMPP's qualification rows."""

EXPORT = [
    "msg_id,state,code,done,submitted,msisdn,from,parts,cost,comment",
    "7F3A21,OK,000,2026-05-04 12:12:05,2026-05-04 12:10:00,+33612345678,ACME,1,0.045,",
    "7F3A22,Failed,005,2026-05-04T12:13:00+02:00,2026-05-04 12:10:00,+33612345679,ACME,2,-0.090,no such number",
    '7F3A23,Expired,,,2026-05-04 12:10:00,+33612345680,ACME,1,,"held, then expired"',
    "7F3A24,ENROUTE,,,,+33612345681,ACME,,,",
]

PARIS = ParseContext(source="aggregator", provider="smpp", tz=ZoneInfo("Europe/Paris"), options=OPTIONS)


def _ctx(**options: str) -> ParseContext:
    """A UTC source of provider ``acme`` with the minimal mapping, plus ``options`` (dots as ``__``)."""
    given = {"column.provider_message_id": "id", "column.raw_status": "status"}
    given.update({key.replace("__", "."): value for key, value in options.items()})
    return ParseContext(source="acme_csv", provider="acme", options=given)


def test_format_reads_any_provider() -> None:
    assert FORMATS["generic_csv"].provider == "*"
    assert FORMATS["generic_csv"].adapter() is parse_csv


def test_sources_file_accepts_generic_csv_for_any_provider_and_the_new_formats(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        "  - {name: aggregator, provider: smpp, format: generic_csv, path: reports/agg,\n"
        "     options: {column.provider_message_id: msg_id, column.raw_status: state, status.OK: DELIVRD}}\n"
        "  - {name: acme, provider: acme, format: generic_csv, path: reports/acme}\n"
        "  - {name: vonage, provider: vonage, format: vonage_query, path: reports/vonage}\n"
        "  - {name: infobip, provider: infobip, format: infobip_json, path: reports/infobip}\n"
        "  - {name: aws, provider: aws, format: aws_sms_events, path: reports/aws}\n"
        "  - {name: sinch, provider: sinch, format: sinch_json, path: reports/sinch}\n",
        encoding="utf-8",
    )

    loaded = load_sources(sources)

    assert [(s.provider, s.format) for s in loaded][:2] == [("smpp", "generic_csv"), ("acme", "generic_csv")]
    assert loaded[0].options["status.OK"] == "DELIVRD"


def test_sources_file_refuses_a_provider_format_of_another_provider(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: wrong, provider: twilio, format: sinch_json, path: x}\n", encoding="utf-8")

    with pytest.raises(ValueError, match="reads sinch reports"):
        load_sources(sources)


# --- the constructed aggregator export ------------------------------------------------------------


def test_export_rows_map_columns_and_translate_statuses() -> None:
    reports = only_reports(list(parse_csv(numbered(*EXPORT), PARIS)))

    assert [r.position for r in reports] == [2, 3, 4, 5]
    assert [(r.provider_message_id, r.raw_status, r.raw_error) for r in reports] == [
        ("7F3A21", "DELIVRD", "000"),
        ("7F3A22", "UNDELIV", "005"),
        ("7F3A23", "EXPIRED", None),
        ("7F3A24", "ENROUTE", None),
    ]
    assert {r.provider for r in reports} == {"smpp"}
    assert reports[1].raw_text == EXPORT[2]


def test_export_dates_segments_and_prices() -> None:
    first, second, third, fourth = only_reports(list(parse_csv(numbered(*EXPORT), PARIS)))

    assert first.event_at == datetime(2026, 5, 4, 10, 12, 5, tzinfo=UTC)
    assert first.submitted_at == datetime(2026, 5, 4, 10, 10, tzinfo=UTC)
    assert second.event_at == datetime(2026, 5, 4, 10, 13, tzinfo=UTC)
    assert (first.phone, first.sender, first.segments) == ("+33612345678", "ACME", 1)
    assert (first.price, first.price_unit) == (Decimal("0.045"), "EUR")
    assert (second.price, second.segments) == (Decimal("0.090"), 2)
    assert (third.event_at, third.price, third.price_unit) == (None, None, None)
    assert (fourth.submitted_at, fourth.segments) == (None, None)


def test_export_reports_are_qualified_by_the_smpp_rows() -> None:
    outcomes = []
    for report in only_reports(list(parse_csv(numbered(*EXPORT), PARIS))):
        row = seed_row("smpp", report.raw_status, report.error_code)
        assert row is not None, report
        outcomes.append((row["outcome"], row["failure_reason"]))

    assert outcomes == [
        ("delivered", ""),
        ("failed", "User unknown"),
        ("failed", "Unreachable"),
        ("pending", ""),
    ]


# --- options --------------------------------------------------------------------------------------


def test_status_translation_falls_back_to_ignoring_case_and_keeps_unknown_words() -> None:
    ctx = _ctx(**{"status__ok": "delivered", "status__OK": "DELIVRD", "status__Failed": "undelivered"})
    lines = numbered("id,status", "1,OK", "2,ok", "3,Ok", "4,FAILED", "5,queued")

    reports = only_reports(list(parse_csv(lines, ctx)))

    assert [r.raw_status for r in reports] == ["DELIVRD", "delivered", "delivered", "undelivered", "queued"]


def test_date_format_option_reads_day_first_dates_in_the_source_zone() -> None:
    ctx = _ctx(column__event_at="Done", date_format="%d/%m/%Y %H:%M", delimiter=";")
    ctx = ParseContext(source=ctx.source, provider=ctx.provider, tz=ZoneInfo("America/New_York"), options=ctx.options)
    lines = numbered("ID;Status;Done", "1;delivered;04/05/2026 08:12")

    (report,) = only_reports(list(parse_csv(lines, ctx)))

    assert report.event_at == datetime(2026, 5, 4, 12, 12, tzinfo=UTC)


def test_epoch_date_formats() -> None:
    lines = numbered("id,status,done", "1,delivered,1777896720", "2,delivered,1777896720.5")
    ms_lines = numbered("id,status,done", "1,delivered,1777896720250")

    seconds = only_reports(list(parse_csv(lines, _ctx(column__event_at="done", date_format="epoch"))))
    millis = only_reports(list(parse_csv(ms_lines, _ctx(column__event_at="done", date_format="epoch_ms"))))

    assert [r.event_at for r in seconds] == [
        datetime(2026, 5, 4, 12, 12, tzinfo=UTC),
        datetime(2026, 5, 4, 12, 12, 0, 500000, tzinfo=UTC),
    ]
    assert millis[0].event_at == datetime(2026, 5, 4, 12, 12, 0, 250000, tzinfo=UTC)


def test_tab_delimiter_and_price_unit_column_over_the_option() -> None:
    ctx = _ctx(column__price="price", column__price_unit="currency", price_unit="EUR", delimiter="tab")
    lines = numbered("id\tstatus\tprice\tcurrency", "1\tdelivered\t0.01\tusd", "2\tdelivered\t0.02\t")

    first, second = only_reports(list(parse_csv(lines, ctx)))

    assert (first.price_unit, second.price_unit) == ("USD", "EUR")


def test_header_is_matched_ignoring_case_and_byte_order_mark() -> None:
    lines = numbered("\ufeffID , STATUS", "1,delivered")

    (report,) = only_reports(list(parse_csv(lines, _ctx())))

    assert (report.provider_message_id, report.raw_status) == ("1", "delivered")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "missing option column.provider_message_id, column.raw_status"),
        ({"column.raw_status": "s"}, "missing option column.provider_message_id"),
        (
            {"column.provider_message_id": "i", "column.raw_status": "s", "column.body": "b"},
            "'body' is not one of",
        ),
        ({"column.provider_message_id": "i", "column.raw_status": " "}, "names no column"),
        ({"column.provider_message_id": "i", "column.raw_status": "s", "status.OK": ""}, "needs both words"),
        (
            {"column.provider_message_id": "i", "column.raw_status": "s", "delimiter": ";;"},
            "not one character",
        ),
    ],
)
def test_wrong_options_are_configuration_errors(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_options(options)


def test_wrong_options_raise_before_any_line_naming_the_source() -> None:
    ctx = ParseContext(source="acme_csv", provider="acme", options={"column.raw_status": "s"})

    with pytest.raises(ValueError, match="source 'acme_csv' \\(generic_csv\\): missing option"):
        next(parse_csv(numbered("id,s", "1,ok"), ctx))


# --- rejects and robustness -----------------------------------------------------------------------


def test_header_without_a_mapped_column_rejects_every_line() -> None:
    ctx = _ctx(column__event_at="done_at")
    records = list(parse_csv(numbered("id,status,done", "1,delivered,", "2,failed,"), ctx))

    assert [type(r) for r in records] == [Reject] * 3
    assert {r.reason for r in records if isinstance(r, Reject)} == {"header has no column 'done_at' (column.event_at)"}


def test_rows_with_unreadable_cells_are_rejected_naming_field_column_and_value() -> None:
    ctx = _ctx(column__event_at="done", column__segments="parts", column__price="cost")
    lines = numbered(
        "id,status,done,parts,cost",
        ",delivered,,,",
        "2,,,,",
        "3,delivered,last tuesday,,",
        "4,delivered,,1.5,",
        "5,delivered,,,free",
        "6,delivered,,,NaN",
        "7,delivered",
        "8,delivered,,,,extra",
        "9,delivered,2026-05-04T12:12:00Z,1,0.01",
    )

    records = list(parse_csv(lines, ctx))

    assert [r.position for r in records] == list(range(2, 11))
    reasons = [r.reason for r in records if isinstance(r, Reject)]
    assert reasons == [
        "missing provider_message_id (column 'id')",
        "missing raw_status (column 'status')",
        "event_at (column 'done') 'last tuesday' is not an ISO-8601 date",
        "segments (column 'parts') '1.5' is not a whole number",
        "price (column 'cost') 'free' is not a number",
        "price (column 'cost') 'NaN' is not a number",
        "row has 2 fields, header has 5",
        "row has 6 fields, header has 5",
    ]
    assert isinstance(records[-1], Report)


def test_date_not_in_the_configured_format_is_rejected_with_the_format() -> None:
    ctx = _ctx(column__event_at="done", date_format="%d/%m/%Y %H:%M")

    (reject,) = parse_csv(numbered("id,status,done", "1,delivered,2026-05-04 12:12"), ctx)

    assert isinstance(reject, Reject)
    assert reject.reason == "event_at (column 'done') '2026-05-04 12:12' is not a date in the format '%d/%m/%Y %H:%M'"


def test_quoted_field_spanning_lines_is_one_row_and_a_stray_quote_costs_one_line() -> None:
    ctx = _ctx(column__raw_error="note")
    lines = numbered("id,note,status", '1,"two', 'lines",delivered', '2,"unterminated,sent', "3,fine,failed")

    first, reject, third = parse_csv(lines, ctx)

    assert isinstance(first, Report)
    assert (first.position, first.raw_error) == (2, "two\nlines")
    assert isinstance(reject, Reject)
    assert reject.position == 4
    assert isinstance(third, Report)
    assert (third.provider_message_id, third.position) == ("3", 5)


def test_every_non_blank_line_after_the_header_yields_a_record() -> None:
    garbage = ["", "  ", "{", "null", "a,b,c", '"', "\x00\x01", ",", "x,y"]
    lines = numbered("id,status", *garbage)

    positions = {record.position for record in parse_csv(lines, _ctx())}

    assert positions == {position for position, text in lines[1:] if text.strip()}


def test_numbers_too_large_for_the_report_table_are_rejected() -> None:
    ctx = _ctx(column__segments="parts", column__price="cost")
    lines = numbered("id,status,parts,cost", "1,delivered,1,1e9", "2,delivered,99999999999,")

    price, parts = parse_csv(lines, ctx)

    assert isinstance(price, Reject)
    assert price.reason == "price (column 'cost') '1e9' is out of range"
    assert isinstance(parts, Reject)
    assert parts.reason == "segments (column 'parts') '99999999999' is out of range"
