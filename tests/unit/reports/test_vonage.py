"""Tests of the Vonage adapters against Vonage's own documentation samples and code tables.

``dlr_examples.jsonl`` holds the receipts of Vonage's delivery-receipt guide and API specification,
each under ``dlr`` beside its provenance; the tests hand the adapter the receipt itself, as the
webhook delivers it. The two code tables pin the seed: every status and err-code Vonage documents
must be qualified.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from tests import project
from tests.unit.reports.helpers import Prefix, numbered, only_reports, reject_reasons, seed_row

from sms_tracking.reports import FORMATS
from sms_tracking.reports.base import Inbound, ParseContext, Reject, Report
from sms_tracking.reports.vonage import parse_json, parse_query

SAMPLES = project.SAMPLES / "vonage_dlr"

CTX = ParseContext(source="vonage_test", provider="vonage")
LONDON = ParseContext(source="vonage_test", provider="vonage", tz=ZoneInfo("Europe/London"))


def _receipts() -> list[dict[str, Any]]:
    """The sample receipts (the ``dlr`` member of each sample line)."""
    lines = (SAMPLES / "dlr_examples.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["dlr"] for line in lines if line.strip()]


def _sample_lines() -> list[tuple[int, str]]:
    """The sample receipts as webhook JSON bodies, one per line."""
    return numbered(*(json.dumps(receipt) for receipt in _receipts()))


def _table(name: str) -> list[dict[str, str]]:
    with (SAMPLES / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _dlr(**fields: str) -> dict[str, str]:
    """A receipt in Vonage's webhook keys, overridden by ``fields`` (underscores stand for hyphens)."""
    receipt = {
        "msisdn": "447700900001",
        "to": "AcmeInc",
        "network-code": "23410",
        "messageId": "0A0000000000000A",
        "price": "0.03330000",
        "status": "delivered",
        "scts": "2605041212",
        "err-code": "0",
        "message-timestamp": "2026-05-04 11:12:40",
    }
    receipt.update({key.replace("_", "-"): value for key, value in fields.items()})
    return {key: value for key, value in receipt.items() if value is not None}


def test_formats_are_registered_for_vonage() -> None:
    assert FORMATS["vonage_json"].provider == "vonage"
    assert FORMATS["vonage_json"].adapter() is parse_json
    assert FORMATS["vonage_query"].adapter() is parse_query


# --- the documentation samples --------------------------------------------------------------------


def test_samples_are_delivered_reports_at_their_positions() -> None:
    first, second = only_reports(list(parse_json(_sample_lines(), CTX)))

    assert (first.position, second.position) == (1, 2)
    assert (first.provider, first.provider_message_id) == ("vonage", "0B00000127FDBC63")
    assert (first.raw_status, first.raw_error, first.error_code) == ("delivered", "0", "0")
    assert (first.phone, first.sender) == ("447547232824", "Nexmo CLI")
    assert (first.price, first.price_unit, first.segments, first.submitted_at) == (
        Decimal("0.03330000"),
        "EUR",
        None,
        None,
    )
    assert second.provider_message_id == "0A0000001234567B"
    assert (second.phone, second.sender) == ("447700900000", "AcmeInc")
    assert json.loads(second.raw_text)["client-ref"] == "my-personal-reference"


def test_sample_scts_is_read_in_the_source_zone() -> None:
    first, second = only_reports(list(parse_json(_sample_lines(), LONDON)))

    # The guide's receipt: scts 13:10 in London (BST) is 12:10 UTC, a few seconds before Vonage
    # pushed it (message-timestamp 12:10:29 UTC).
    assert first.event_at == datetime(2018, 10, 25, 12, 10, tzinfo=UTC)
    # The specification's field examples are independent values: scts 14:00 (GMT in January).
    assert second.event_at == datetime(2020, 1, 1, 14, 0, tzinfo=UTC)


def test_sample_scts_in_a_utc_source_is_taken_as_is() -> None:
    first, _ = only_reports(list(parse_json(_sample_lines(), CTX)))

    assert first.event_at == datetime(2018, 10, 25, 13, 10, tzinfo=UTC)


def test_samples_as_query_strings_give_the_same_reports() -> None:
    lines = numbered(*(urlencode(receipt) for receipt in _receipts()))

    from_query = only_reports(list(parse_query(lines, LONDON)))
    from_json = only_reports(list(parse_json(_sample_lines(), LONDON)))

    def fields(report: Report) -> tuple[Any, ...]:
        return (
            report.provider_message_id,
            report.raw_status,
            report.raw_error,
            report.event_at,
            report.price,
        )

    assert [fields(r) for r in from_query] == [fields(r) for r in from_json]
    assert from_query[0].raw_text == lines[0][1]
    assert from_query[0].sender == "Nexmo CLI"


def test_sample_statuses_and_codes_have_seed_rows() -> None:
    for report in only_reports(list(parse_json(_sample_lines(), CTX))):
        row = seed_row("vonage", report.raw_status, report.error_code)
        assert row is not None, report
        assert row["outcome"] == "delivered", report


@pytest.mark.parametrize("status", [row["status"] for row in _table("dlr_status_values.csv")])
def test_every_documented_status_is_read_lower_case_and_has_its_own_seed_row(status: str) -> None:
    (report,) = only_reports(list(parse_json(numbered(json.dumps(_dlr(status=status.upper()))), CTX)))

    assert report.raw_status == status
    assert seed_row("vonage", status, None) is not None
    assert seed_row("vonage", status, None)["raw_status"] == status  # type: ignore[index]


@pytest.mark.parametrize("code", [row["err_code"] for row in _table("dlr_err_codes.csv")])
def test_every_documented_err_code_is_qualified_on_a_failure(code: str) -> None:
    status = "delivered" if code == "0" else "failed"
    line = urlencode(_dlr(status=status, err_code=code.zfill(3)))

    (report,) = only_reports(list(parse_query(numbered(line), CTX)))

    assert (report.raw_error, report.error_code) == (code.zfill(3), code)
    row = seed_row("vonage", report.raw_status, report.error_code)
    assert row is not None
    assert row["error_code"] == code


# --- mapping --------------------------------------------------------------------------------------


def test_without_scts_the_event_time_is_message_timestamp_in_utc_whatever_the_zone() -> None:
    line = json.dumps(_dlr(scts=None))

    (report,) = only_reports(list(parse_json(numbered(line), LONDON)))

    assert report.event_at == datetime(2026, 5, 4, 11, 12, 40, tzinfo=UTC)


def test_without_any_date_the_event_time_is_none() -> None:
    line = json.dumps(_dlr(scts=None, message_timestamp=None))

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    assert report.event_at is None


def test_failure_keeps_the_err_code_as_written() -> None:
    line = json.dumps(_dlr(status="failed", err_code="09"))

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    assert (report.raw_status, report.raw_error, report.error_code) == ("failed", "09", "9")
    row = seed_row("vonage", "failed", "9")
    assert row is not None
    assert (row["failure_type"], row["failure_reason"]) == ("Hard", "Denylisted")


def test_numbers_are_accepted_where_vonage_writes_strings() -> None:
    line = json.dumps(
        {"messageId": "0A1", "status": "rejected", "err-code": 6, "price": 0.0333, "msisdn": 447700900001}
    )

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    assert (report.raw_error, report.price, report.phone) == ("6", Decimal("0.0333"), "447700900001")


def test_price_unit_option_overrides_eur_and_no_price_means_no_unit() -> None:
    ctx = ParseContext(source="vonage_test", provider="vonage", options={"price_unit": "USD"})
    lines = numbered(json.dumps(_dlr()), json.dumps(_dlr(price=None)))

    priced, unpriced = only_reports(list(parse_json(lines, ctx)))

    assert (priced.price, priced.price_unit) == (Decimal("0.03330000"), "USD")
    assert (unpriced.price, unpriced.price_unit) == (None, None)


def test_query_string_with_leading_question_mark_and_encoded_values() -> None:
    line = "?msisdn=447700900001&to=Acme+Inc&messageId=0A2&status=expired&err-code=2&scts=2605041212"

    (report,) = only_reports(list(parse_query(numbered(line), CTX)))

    assert (report.provider_message_id, report.raw_status, report.raw_error) == ("0A2", "expired", "2")
    assert report.sender == "Acme Inc"
    assert report.event_at == datetime(2026, 5, 4, 12, 12, tzinfo=UTC)


def test_query_string_first_of_a_repeated_key_wins_and_empty_values_are_absent() -> None:
    line = "messageId=0A3&status=delivered&status=failed&err-code=&price="

    (report,) = only_reports(list(parse_query(numbered(line), CTX)))

    assert (report.raw_status, report.raw_error, report.price) == ("delivered", None, None)


# --- inbound --------------------------------------------------------------------------------------

INBOUND = {
    "msisdn": "447700900001",
    "to": "447700900999",
    "messageId": "0A0000000123ABCD1",
    "text": "STOP ",
    "type": "text",
    "keyword": "STOP",
    "api-key": "abcd1234",
    "message-timestamp": "2026-05-04 11:20:00",
}


def test_inbound_sms_webhook_becomes_inbound_in_both_forms() -> None:
    expected = Inbound(
        "vonage",
        "0A0000000123ABCD1",
        "447700900001",
        "447700900999",
        "STOP ",
        datetime(2026, 5, 4, 11, 20, tzinfo=UTC),
        1,
    )

    assert list(parse_json(numbered(json.dumps(INBOUND)), LONDON)) == [expected]
    assert list(parse_query(numbered(urlencode(INBOUND)), LONDON)) == [expected]


def test_inbound_binary_message_without_text_has_empty_text() -> None:
    line = json.dumps({"msisdn": "447700900001", "to": "447700900999", "type": "binary", "data": "AQID"})

    (record,) = parse_json(numbered(line), CTX)

    assert isinstance(record, Inbound)
    assert record.text == ""


def test_inbound_without_msisdn_is_rejected() -> None:
    (record,) = parse_json(numbered(json.dumps({"text": "STOP", "type": "text"})), CTX)

    assert isinstance(record, Reject)
    assert record.reason == "inbound message has no msisdn"


# --- rejects and robustness -----------------------------------------------------------------------


def test_unreadable_receipts_are_rejected_naming_field_and_value() -> None:
    lines = numbered(
        json.dumps(_dlr(messageId=None)),
        json.dumps(_dlr(status=None)),
        json.dumps(_dlr(scts="25-10-18")),
        json.dumps(_dlr(scts=None, message_timestamp="25/10/2018 12:10")),
        json.dumps(_dlr(price="free")),
        json.dumps({"messageId": "0A4", "status": ["delivered"]}),
        "[1]",
        '{"messageId": ',
    )

    records = list(parse_json(lines, CTX))

    assert reject_reasons(records) == [
        "missing messageId",
        "missing status (messageId '0A0000000000000A')",
        Prefix("scts '25-10-18'"),
        "message-timestamp '25/10/2018 12:10' is not a 'YYYY-MM-DD hh:mm:ss' date",
        "price 'free' is not a number",
        "status ['delivered'] is not a string",
        "expected a JSON object, got list",
        Prefix("invalid JSON"),
    ]
    assert [r.position for r in records] == list(range(1, 9))
    assert records[2].raw_text == lines[2][1]


def test_query_line_that_is_not_a_receipt_is_rejected() -> None:
    (record,) = parse_query(numbered("hello world"), CTX)

    assert isinstance(record, Reject)
    assert record.reason == "missing messageId"


def test_deeply_nested_json_is_rejected_not_raised() -> None:
    (record,) = parse_json(numbered("[" * 100_000), CTX)

    assert isinstance(record, Reject)


def test_every_non_blank_line_yields_a_record_and_blank_lines_none() -> None:
    garbage = ["", "   ", "{", "null", "a=b&c", '"', "\x00\x01", "messageId=&status=", "%zz", "{}"]
    lines = numbered(*garbage)
    non_blank = {position for position, text in lines if text.strip()}

    for adapter in (parse_json, parse_query):
        assert [record.position for record in adapter(lines, CTX)] == sorted(non_blank)


def test_price_too_large_for_the_report_table_is_rejected() -> None:
    (record,) = parse_json(numbered(json.dumps(_dlr(price="1e9"))), CTX)

    assert isinstance(record, Reject)
    assert record.reason == "price '1e9' is out of range"
