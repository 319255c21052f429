"""Tests of the Twilio adapters against Twilio's, Airbyte's and Fivetran's own sample data.

The samples are real-world shapes (RFC 2822 dates, string prices, Airbyte envelopes, Fivetran's
``... UTC`` dates), so the tests pin the mapping to what those producers actually emit.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
from tests.project import SAMPLES
from tests.unit.reports.helpers import numbered, only_reports

from sms_tracking.reports.base import Inbound, ParseContext, Reject, Report
from sms_tracking.reports.twilio import form_fields, parse_callback, parse_csv, parse_json

API_EXAMPLES = SAMPLES / "twilio_api_examples" / "messages.jsonl"
AIRBYTE = SAMPLES / "airbyte_source_twilio" / "messages.jsonl"
FIVETRAN = SAMPLES / "fivetran_twilio_seeds" / "twilio_message_data.csv"

CTX = ParseContext(source="twilio_test", provider="twilio")
NEW_YORK = ParseContext(source="twilio_test", provider="twilio", tz=ZoneInfo("America/New_York"))


def _lines(path: Path) -> list[tuple[int, str]]:
    """Number a file's lines from 1, as the loader hands them to an adapter."""
    return list(enumerate(path.read_text(encoding="utf-8").splitlines(), start=1))


def _message(**fields: object) -> dict[str, object]:
    """A minimal outbound Message resource, overridden by ``fields``."""
    message: dict[str, object] = {
        "sid": "SM0001",
        "status": "delivered",
        "direction": "outbound-api",
        "error_code": None,
        "date_created": "Fri, 24 May 2019 17:18:27 +0000",
        "date_sent": "Fri, 24 May 2019 17:18:28 +0000",
        "date_updated": "Fri, 24 May 2019 17:18:30 +0000",
        "from": "+12019235161",
        "to": "+18182008801",
        "num_segments": "1",
        "price": "-0.00750",
        "price_unit": "USD",
    }
    message.update(fields)
    return message


# --- REST API Message resources (twilio-python fixtures) --------------------------------------------


def test_api_examples_yield_one_record_per_line_at_its_position() -> None:
    records = list(parse_json(_lines(API_EXAMPLES), CTX))

    assert len(records) == 12
    assert [record.position for record in records] == list(range(1, 13))
    assert not [record for record in records if isinstance(record, Reject)]


def test_api_examples_keep_twilio_statuses_in_lower_case() -> None:
    records = list(parse_json(_lines(API_EXAMPLES), CTX))

    statuses = [record.raw_status for record in records if isinstance(record, Report)]
    assert statuses == ["sent"] * 3 + ["queued"] + ["scheduled"] * 3 + ["sent"] * 2 + ["sent", "canceled"]
    assert all(record.provider == "twilio" for record in records if isinstance(record, Report))


def test_api_sent_with_carrier_violation_keeps_30007_as_raw_error() -> None:
    records = list(parse_json(_lines(API_EXAMPLES), CTX))

    report = records[7]
    assert isinstance(report, Report)
    assert report.provider_message_id == "SMb7c0a2ce80504485a6f653a7110836f5"
    assert report.raw_status == "sent"
    assert report.raw_error == "30007"
    assert report.error_code == "30007"
    assert [r.raw_error for r in records if isinstance(r, Report) and r is not report] == [None] * 10


def test_api_rfc2822_dates_are_read_as_utc() -> None:
    report = next(parse_json(_lines(API_EXAMPLES), CTX))

    assert isinstance(report, Report)
    assert report.event_at == datetime(2015, 7, 30, 20, 12, 33, tzinfo=UTC)
    assert report.submitted_at == datetime(2015, 7, 30, 20, 12, 33, tzinfo=UTC)
    assert report.event_at.utcoffset() is not None


def test_api_rfc2822_date_with_offset_is_shifted_to_utc() -> None:
    line = json.dumps(_message(date_updated="Fri, 24 May 2019 19:18:30 +0200"))

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    assert report.event_at == datetime(2019, 5, 24, 17, 18, 30, tzinfo=UTC)


def test_api_message_without_date_sent_is_submitted_at_date_created() -> None:
    records = list(parse_json(_lines(API_EXAMPLES), CTX))

    scheduled = records[4]
    assert isinstance(scheduled, Report)
    assert scheduled.raw_status == "scheduled"
    assert scheduled.submitted_at == datetime(2021, 11, 29, 22, 40, 10, tzinfo=UTC)
    canceled = records[11]
    assert isinstance(canceled, Report)
    assert canceled.submitted_at == datetime(2019, 5, 24, 17, 18, 27, tzinfo=UTC)
    assert canceled.event_at == datetime(2019, 5, 24, 18, 18, 28, tzinfo=UTC)


def test_api_string_price_and_segments_become_decimal_and_int() -> None:
    records = list(parse_json(_lines(API_EXAMPLES), CTX))

    priced = records[7]
    assert isinstance(priced, Report)
    assert priced.segments == 1
    assert priced.price == Decimal("0.00750")
    assert priced.price_unit == "USD"
    unsent = records[4]
    assert isinstance(unsent, Report)
    assert unsent.segments == 0


def test_api_null_price_stays_none_even_with_a_price_unit() -> None:
    records = list(parse_json(_lines(API_EXAMPLES), CTX))

    first, redacted = records[0], records[10]
    assert isinstance(first, Report) and isinstance(redacted, Report)
    assert (first.price, first.price_unit) == (None, None)
    assert (redacted.price, redacted.price_unit) == (None, "USD")


def test_api_phone_and_sender_are_kept_as_given_including_whatsapp() -> None:
    records = list(parse_json(_lines(API_EXAMPLES), CTX))

    whatsapp = records[6]
    assert isinstance(whatsapp, Report)
    assert whatsapp.phone == "whatsapp:+15558675310"
    assert whatsapp.sender is None
    first = records[0]
    assert isinstance(first, Report)
    assert (first.phone, first.sender) == ("+14155552345", "+14155552345")


def test_api_inbound_received_mms_becomes_inbound_never_a_report() -> None:
    records = list(parse_json(_lines(API_EXAMPLES), CTX))

    inbound = [record for record in records if isinstance(record, Inbound)]
    assert inbound == [
        Inbound(
            provider="twilio",
            provider_message_id="MMc26223853f8c46b4ab7dfaa6abba0a26",
            phone="+12019235161",
            recipient="+18182008801",
            text="look mom I have media!",
            received_at=datetime(2019, 5, 24, 17, 44, 49, tzinfo=UTC),
            position=10,
            price=Decimal("0.00750"),
            price_unit="USD",
            error_code="30004",
        )
    ]
    assert "MMc26223853f8c46b4ab7dfaa6abba0a26" not in {
        record.provider_message_id for record in records if isinstance(record, Report)
    }


def test_inbound_direction_alone_makes_an_inbound() -> None:
    line = json.dumps(_message(direction="inbound", status="delivered", date_sent=None, body="STOP"))

    (record,) = parse_json(numbered(line), CTX)

    assert isinstance(record, Inbound)
    assert record.text == "STOP"
    assert record.received_at == datetime(2019, 5, 24, 17, 18, 27, tzinfo=UTC)


def test_api_report_keeps_the_line_as_raw_text() -> None:
    lines = _lines(API_EXAMPLES)

    report = next(parse_json(lines, CTX))

    assert isinstance(report, Report)
    assert report.raw_text == lines[0][1]


def test_plain_message_resource_line_is_read() -> None:
    line = json.dumps(_message(status="Undelivered", error_code=30005))

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    assert report.provider_message_id == "SM0001"
    assert report.raw_status == "undelivered"
    assert report.raw_error == "30005"
    assert report.event_at == datetime(2019, 5, 24, 17, 18, 30, tzinfo=UTC)


def test_list_page_yields_one_record_per_message_at_the_line_position() -> None:
    page = {
        "messages": [_message(sid="SM1"), _message(sid="SM2", status="failed", error_code=30003)],
        "next_page_uri": "/2010-04-01/Accounts/AC1/Messages.json?Page=1",
        "page": 0,
    }

    records = only_reports(list(parse_json(numbered("", json.dumps(page)), CTX)))

    assert [(r.provider_message_id, r.raw_status, r.raw_error) for r in records] == [
        ("SM1", "delivered", None),
        ("SM2", "failed", "30003"),
    ]
    assert {r.position for r in records} == {2}
    assert json.loads(records[1].raw_text)["sid"] == "SM2"


def test_list_page_member_that_is_not_an_object_is_rejected_alone() -> None:
    page = {"messages": [_message(sid="SM1"), "SM2"]}

    report, reject = parse_json(numbered(json.dumps(page)), CTX)

    assert isinstance(report, Report)
    assert isinstance(reject, Reject)
    assert reject.position == 1
    assert "str" in reject.reason


def test_empty_list_page_is_rejected_so_no_line_is_lost() -> None:
    (record,) = parse_json(numbered('{"messages": [], "next_page_uri": null}'), CTX)

    assert isinstance(record, Reject)
    assert "no messages" in record.reason


# --- Airbyte source-twilio envelopes --------------------------------------------------------------


def test_airbyte_records_are_sent_mms_with_cost_and_iso_dates() -> None:
    reports = only_reports(list(parse_json(_lines(AIRBYTE), CTX)))

    assert len(reports) == 7
    assert [r.position for r in reports] == list(range(1, 8))
    assert {r.raw_status for r in reports} == {"sent"}
    assert {(r.price, r.price_unit) for r in reports} == {(Decimal("0.02"), "USD")}
    assert {r.segments for r in reports} == {1}
    assert {r.raw_error for r in reports} == {None}
    assert {(r.phone, r.sender) for r in reports} == {("+14156236785", "+12056561170")}
    first = reports[0]
    assert first.provider_message_id == "MMfba455dd05ec9a6b9db40622fce7a0ea"
    assert first.submitted_at == datetime(2023, 2, 14, 14, 3, 15, tzinfo=UTC)
    assert first.event_at == datetime(2023, 2, 14, 16, 0, 41, tzinfo=UTC)


def test_airbyte_date_updated_is_later_than_date_sent() -> None:
    reports = only_reports(list(parse_json(_lines(AIRBYTE), CTX)))

    for report in reports:
        assert report.event_at is not None and report.submitted_at is not None
        assert report.event_at - report.submitted_at > timedelta(hours=1)


def test_airbyte_protocol_record_message_is_unwrapped() -> None:
    envelope = {"stream": "messages", "data": _message(sid="SM9"), "emitted_at": 1682602966549}
    line = json.dumps({"type": "RECORD", "record": envelope})

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    assert report.provider_message_id == "SM9"


def test_airbyte_record_of_another_stream_is_rejected() -> None:
    line = json.dumps({"stream": "calls", "data": {"sid": "CA1", "status": "completed"}, "emitted_at": 1})

    (record,) = parse_json(numbered(line), CTX)

    assert isinstance(record, Reject)
    assert "'calls'" in record.reason


def test_iso_date_with_offset_and_naive_iso_date_in_source_zone() -> None:
    line = json.dumps(_message(date_updated="2026-05-04T14:12:00+02:00", date_sent="2026-05-04 08:10:00"))

    (report,) = only_reports(list(parse_json(numbered(line), NEW_YORK)))

    assert report.event_at == datetime(2026, 5, 4, 12, 12, tzinfo=UTC)
    assert report.submitted_at == datetime(2026, 5, 4, 12, 10, tzinfo=UTC)


# --- Fivetran table export ------------------------------------------------------------------------


def test_fivetran_rows_are_delivered_two_segment_messages() -> None:
    reports = only_reports(list(parse_csv(_lines(FIVETRAN), CTX)))

    assert len(reports) == 10
    assert [r.position for r in reports] == list(range(2, 12))
    assert {r.raw_status for r in reports} == {"delivered"}
    assert {r.segments for r in reports} == {2}
    assert {(r.price, r.price_unit) for r in reports} == {(Decimal("0.0158"), "USD")}
    assert {r.raw_error for r in reports} == {None}
    assert {(r.phone, r.sender) for r in reports} == {("15555555555", "15555555555")}
    assert reports[0].provider_message_id == "SMce88ff89fc4a7c8cd5780c2a3f1fed7d"


def test_fivetran_utc_dates_stay_utc_whatever_the_source_zone() -> None:
    reports = only_reports(list(parse_csv(_lines(FIVETRAN), NEW_YORK)))

    first = reports[0]
    assert first.submitted_at == datetime(2023, 5, 9, 23, 17, 40, 768000, tzinfo=UTC)
    assert first.event_at == datetime(2023, 1, 12, 16, 20, 49, tzinfo=UTC)


def test_csv_maps_columns_by_name_tolerating_extra_and_missing_columns() -> None:
    lines = numbered(
        "Status,ID,error_code,extra,to",
        "undelivered,SM1,30005,x,+15550199",
        "delivered,SM2,,y,",
    )

    first, second = only_reports(list(parse_csv(lines, CTX)))

    assert (first.provider_message_id, first.raw_status, first.raw_error) == ("SM1", "undelivered", "30005")
    assert first.phone == "+15550199"
    assert (first.event_at, first.submitted_at, first.price, first.segments) == (None, None, None, None)
    assert (second.raw_error, second.phone) == (None, None)


def test_csv_header_with_byte_order_mark_is_read() -> None:
    lines = numbered("\ufeffid,status", "SM1,sent")

    (report,) = only_reports(list(parse_csv(lines, CTX)))

    assert report.provider_message_id == "SM1"


def test_csv_row_with_wrong_field_count_is_rejected() -> None:
    lines = numbered("id,status,to", "SM1,sent", "SM2,sent,+1555,extra", "SM3,sent,+1555")

    short, long, report = parse_csv(lines, CTX)

    assert isinstance(short, Reject) and short.position == 2
    assert short.reason == "row has 2 fields, header has 3"
    assert isinstance(long, Reject) and long.position == 3
    assert isinstance(report, Report) and report.position == 4


def test_csv_row_without_id_or_status_is_rejected() -> None:
    lines = numbered("id,status", ",sent", "SM2,", "SM3,sent")

    no_id, no_status, report = parse_csv(lines, CTX)

    assert isinstance(no_id, Reject) and no_id.reason == "missing id"
    assert isinstance(no_status, Reject) and no_status.reason == "missing status"
    assert isinstance(report, Report)


def test_csv_header_without_required_columns_rejects_every_line() -> None:
    records = list(parse_csv(numbered("sid,state", "SM1,sent", "SM2,sent"), CTX))

    assert [type(r) for r in records] == [Reject] * 3
    assert {r.reason for r in records if isinstance(r, Reject)} == {"header has no id, status column"}


def test_csv_quoted_body_spanning_lines_is_one_row() -> None:
    lines = numbered("id,body,status", 'SM1,"Hello,', 'world",delivered', "SM2,plain,sent")

    first, second = only_reports(list(parse_csv(lines, CTX)))

    assert (first.provider_message_id, first.raw_status, first.position) == ("SM1", "delivered", 2)
    assert first.raw_text == 'SM1,"Hello,\nworld",delivered'
    assert (second.provider_message_id, second.position) == ("SM2", 4)


def test_csv_stray_quote_costs_only_its_own_line() -> None:
    lines = numbered("id,body,status", 'SM1,"unterminated,sent', "SM2,fine,sent", "SM3,fine,delivered")

    reject, second, third = parse_csv(lines, CTX)

    assert isinstance(reject, Reject) and reject.position == 2
    assert isinstance(second, Report) and (second.provider_message_id, second.position) == ("SM2", 3)
    assert isinstance(third, Report) and (third.provider_message_id, third.position) == ("SM3", 4)


def test_csv_unparsable_date_is_rejected_naming_column_and_value() -> None:
    lines = numbered("id,status,updated_at", "SM1,delivered,last tuesday")

    (reject,) = parse_csv(lines, CTX)

    assert isinstance(reject, Reject)
    assert "date_updated" in reject.reason and "'last tuesday'" in reject.reason


# --- status callbacks -----------------------------------------------------------------------------

CALLBACK = (
    "MessageSid=SM1f00&AccountSid=AC9a00&From=%2B15550100&To=%2B15550199"
    "&MessageStatus=undelivered&ErrorCode=30005&RawDlrDoneDate=2605041212"
)


def test_callback_raw_dlr_done_date_in_new_york_is_shifted_to_utc() -> None:
    (report,) = only_reports(list(parse_callback(numbered(CALLBACK), NEW_YORK)))

    assert report.provider_message_id == "SM1f00"
    assert report.raw_status == "undelivered"
    assert report.raw_error == "30005"
    assert report.event_at == datetime(2026, 5, 4, 16, 12, tzinfo=UTC)
    assert (report.phone, report.sender) == ("+15550199", "+15550100")
    assert report.raw_text == CALLBACK
    assert report.submitted_at is None


def test_callback_done_date_in_utc_source_is_taken_as_is() -> None:
    (report,) = only_reports(list(parse_callback(numbered(CALLBACK), CTX)))

    assert report.event_at == datetime(2026, 5, 4, 12, 12, tzinfo=UTC)


def test_callback_without_error_code_or_done_date_has_none() -> None:
    line = "MessageSid=SM2&MessageStatus=delivered&To=%2B15550199&ErrorCode="

    (report,) = only_reports(list(parse_callback(numbered(line), CTX)))

    assert (report.raw_status, report.raw_error, report.event_at) == ("delivered", None, None)


def test_callback_falls_back_to_sms_sid_and_sms_status() -> None:
    line = "SmsSid=SM3&SmsStatus=sent&ApiVersion=2010-04-01"

    (report,) = only_reports(list(parse_callback(numbered(line), CTX)))

    assert (report.provider_message_id, report.raw_status) == ("SM3", "sent")


def test_callback_ignores_unknown_keys() -> None:
    line = CALLBACK + "&ChannelStatusMessage=absent+subscriber&NewField=%7B%7D&Flag"

    (report,) = only_reports(list(parse_callback(numbered(line), CTX)))

    assert report.provider_message_id == "SM1f00"


def test_callback_incoming_message_becomes_inbound() -> None:
    line = "MessageSid=SM4&SmsStatus=received&From=%2B15550199&To=%2B15550100&Body=STOP"

    (record,) = parse_callback(numbered(line), CTX)

    assert record == Inbound("twilio", "SM4", "+15550199", "+15550100", "STOP", None, 1)


def test_callback_rejects_missing_sid_missing_status_and_bad_done_date() -> None:
    lines = numbered(
        "MessageStatus=delivered",
        "MessageSid=SM5",
        "MessageSid=SM6&MessageStatus=delivered&RawDlrDoneDate=26-05-04",
        "not a callback",
    )

    records = list(parse_callback(lines, CTX))

    assert [type(r) for r in records] == [Reject] * 4
    reasons = [r.reason for r in records if isinstance(r, Reject)]
    assert "MessageSid" in reasons[0]
    assert "MessageStatus" in reasons[1]
    assert "RawDlrDoneDate" in reasons[2] and "'26-05-04'" in reasons[2]
    assert "MessageSid" in reasons[3]


# --- rejects and robustness -----------------------------------------------------------------------


def test_broken_json_in_the_middle_keeps_the_lines_before_and_after() -> None:
    texts = [text for _, text in _lines(AIRBYTE)]
    lines = numbered(*texts[:3], '{"stream": "messages", "data": {"sid": ', *texts[3:])

    records = list(parse_json(lines, CTX))

    assert len(records) == 8
    reject = records[3]
    assert isinstance(reject, Reject)
    assert reject.position == 4
    assert reject.reason.startswith("invalid JSON")
    assert [type(r) for r in records[:3] + records[4:]] == [Report] * 7
    assert [r.position for r in records] == list(range(1, 9))


def test_non_object_and_incomplete_messages_are_rejected() -> None:
    lines = numbered(
        "[1, 2]",
        '"SM1"',
        json.dumps(_message(sid=None)),
        json.dumps(_message(status="")),
        json.dumps(_message(status=["sent"])),
        json.dumps({"code": 20404, "message": "The requested resource was not found", "status": 404}),
    )

    records = list(parse_json(lines, CTX))

    assert [type(r) for r in records] == [Reject] * 6
    reasons = [r.reason for r in records if isinstance(r, Reject)]
    assert "list" in reasons[0]
    assert "str" in reasons[1]
    assert reasons[2] == "missing sid"
    assert reasons[3] == "missing status"
    assert reasons[4] == "status ['sent'] is not a string"
    assert reasons[5] == "missing sid"


def test_unparsable_date_is_rejected_naming_field_and_value() -> None:
    line = json.dumps(_message(date_updated="30/07/2015 20:12"))

    (reject,) = parse_json(numbered(line), CTX)

    assert isinstance(reject, Reject)
    assert reject.reason == "date_updated '30/07/2015 20:12' is not an RFC 2822 or ISO-8601 date"
    assert reject.raw_text == line


def test_numeric_phone_numbers_are_read_as_text() -> None:
    line = json.dumps(_message(to=15555555555, **{"from": 15550100}))

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    assert (report.phone, report.sender) == ("15555555555", "15550100")


def test_deeply_nested_json_is_rejected_not_raised() -> None:
    (reject,) = parse_json(numbered("[" * 100_000), CTX)

    assert isinstance(reject, Reject)


def test_unreadable_price_or_segments_are_rejected() -> None:
    lines = numbered(json.dumps(_message(price="free")), json.dumps(_message(num_segments="1.5")))

    price, segments = parse_json(lines, CTX)

    assert isinstance(price, Reject) and "price 'free'" in price.reason
    assert isinstance(segments, Reject) and "num_segments '1.5'" in segments.reason


def test_every_non_blank_line_yields_a_record_and_blank_lines_none() -> None:
    garbage = ["", "   ", "{", "null", "id,status", "a=b&c", '"', "\x00\x01", "MessageSid=&MessageStatus="]
    lines = numbered(*garbage)
    non_blank = {position for position, text in lines if text.strip()}

    for adapter in (parse_json, parse_callback):
        assert {record.position for record in adapter(lines, CTX)} == non_blank
    csv_lines = numbered("id,status", *garbage)
    csv_positions = {record.position for record in parse_csv(csv_lines, CTX)}
    assert csv_positions == {position for position, text in csv_lines[1:] if text.strip()}


@pytest.mark.parametrize(
    "body",
    [
        "MessageSid=SM1&MessageStatus=delivered&To=%2B33612345678&Body=Hello+world%21",
        "A=1&A=2&B=&B=3&C&&D=%20%20&E=+x+&F%5Bk%5D=v&G=%E2%82%AC&H=%ZZ&I=a%2Bb&J==x&+K+=y",
        "",
        "&",
        "=",
        "x=%",
        "Body=caf%C3%A9+%26+cr%C3%A8me&Body=second",
    ],
)
def test_form_fields_read_what_parse_qsl_reads(body: str) -> None:
    """The fast reader of callback bodies keeps, for each name, the first non-blank value parse_qsl gives."""
    expected: dict[str, str] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        if value.strip():
            expected.setdefault(key.strip(), value.strip())
    assert form_fields(body) == expected


def test_a_message_log_line_gives_its_send_and_the_delivery_of_its_sender_and_day() -> None:
    from sms_tracking import contract

    ctx = ParseContext(source="twilio_api", provider="twilio", options={"default_region": "US"})
    line = json.dumps(
        _message(sid="SM9", to="(818) 200-8801", num_segments="2", date_sent="Thu, 30 Jul 2015 23:59:59 -0200")
    )
    report = only_reports(list(parse_json(numbered(line), ctx)))[0]

    send = contract.logged_send(report, ctx)

    assert send == contract.Send(
        provider="twilio",
        provider_message_id="SM9",
        delivery_id=f"twilio_api:{report.sender}:2015-07-31",
        recipient_id="SM9",
        phone_raw="(818) 200-8801",
        phone_e164="+18182008801",
        submitted_at=datetime(2015, 7, 31, 1, 59, 59, tzinfo=UTC),
        segments=2,
    )
    delivery = contract.logged_delivery(send, report, ctx)
    assert (delivery.delivery_id, delivery.sender, delivery.provider, delivery.content, delivery.is_proof) == (
        send.delivery_id,
        report.sender,
        "twilio",
        "",
        False,
    )
    # A callback carries no submit time: it cannot be a send-log row.
    callback = only_reports(list(parse_callback(numbered("MessageSid=SM9&MessageStatus=delivered"), ctx)))
    assert contract.logged_send(callback[0], ctx) is None


def test_a_configured_field_names_the_delivery_instead_of_the_sender() -> None:
    from sms_tracking import contract

    ctx = ParseContext(source="twilio_api", provider="twilio", delivery_field="messaging_service_sid")
    lines = [json.dumps(_message(sid="SM1", messaging_service_sid="MG1")), json.dumps(_message(sid="SM2"))]
    reports = only_reports(list(parse_json(numbered(*lines), ctx)))

    sends = [contract.logged_send(report, ctx) for report in reports]

    assert [send.delivery_id for send in sends if send] == ["twilio_api:MG1:2019-05-24", "twilio_api::2019-05-24"]
    delivery = contract.logged_delivery(sends[0], reports[0], ctx)  # type: ignore[arg-type]
    assert (delivery.name, delivery.sender) == ("MG1 2019-05-24 (twilio_api)", None)


def test_api_dates_read_by_hand_are_what_the_email_parser_reads() -> None:
    """The REST API's date form is read without ``parsedate_to_datetime``; impossible dates still are not dates."""
    from email.utils import parsedate_to_datetime

    from sms_tracking.reports.twilio import _parse_date_text

    start = datetime(1999, 12, 31, 23, 59, 58, tzinfo=UTC)
    texts = [f"{(start + timedelta(seconds=s * 7919)):%a, %d %b %Y %H:%M:%S} +0000" for s in range(20_000)]
    texts += ["Mon, 31 Feb 2026 08:13:19 +0000", "Mon, 04 May 2026 24:00:00 +0000", "Mon, 04 May 2026 08:60:19 +0000"]
    texts += ["Mon, 00 May 2026 08:13:19 +0000", "Mon, 04 May 0999 08:13:19 +0000", "Thu, 29 Feb 2024 23:59:59 +0000"]
    for text in texts:
        try:
            expected: datetime | None = parsedate_to_datetime(text).astimezone(UTC)
        except ValueError:
            expected = None
        assert (text, _parse_date_text(text, NEW_YORK.tz)) == (text, expected)
