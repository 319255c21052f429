"""Tests of the AWS End User Messaging SMS adapter.

No sample file is provided for AWS: the events below are CONSTRUCTED from the field list and the SMS
example log of the AWS documentation ("Example SMS event data", configuration-sets-event-format;
reference sms-domain.md 2.5), and the legacy ones from the Amazon Pinpoint "SMS events" example.
Ids, numbers, times and prices are made up.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from tests.unit.reports.helpers import numbered, only_reports, reject_reasons, seed_row

from sms_tracking.reports import FORMATS
from sms_tracking.reports.aws import parse_json
from sms_tracking.reports.base import ParseContext, Reject, Report

CTX = ParseContext(source="aws_test", provider="aws")

EVENT_TYPES = [
    "TEXT_QUEUED",
    "TEXT_PENDING",
    "TEXT_DELIVERED",
    "TEXT_SUCCESSFUL",
    "TEXT_BLOCKED",
    "TEXT_TTL_EXPIRED",
    "TEXT_CARRIER_UNREACHABLE",
    "TEXT_INVALID",
    "TEXT_INVALID_MESSAGE",
    "TEXT_CARRIER_BLOCKED",
    "TEXT_UNREACHABLE",
    "TEXT_SPAM",
    "TEXT_UNKNOWN",
    "TEXT_PROTECT_BLOCKED",
]
"""The SMS event types of the AWS documentation (reference 2.5)."""


def _event(**fields: Any) -> dict[str, Any]:
    """A constructed SMS event with every documented field, overridden by ``fields`` (None removes)."""
    event: dict[str, Any] = {
        "eventType": "TEXT_DELIVERED",
        "eventVersion": "1.0",
        "eventTimestamp": 1777896720250,
        "isFinal": True,
        "originationPhoneNumber": "+12065550152",
        "destinationPhoneNumber": "+14255550156",
        "isInternationalSend": False,
        "isoCountryCode": "US",
        "mcc": "310",
        "mnc": "800",
        "messageId": "862a8790-60c0-4430-9b2b-658bdexample",
        "messageRequestTimestamp": 1777896718100,
        "messageEncoding": "GSM",
        "messageType": "TRANSACTIONAL",
        "messageStatus": "DELIVERED",
        "messageStatusDescription": "Message has been accepted by phone",
        "context": {"delivery": "d-42"},
        "totalMessageParts": 2,
        "totalMessagePrice": 0.01162,
        "totalCarrierFee": 0.00302,
    }
    event.update(fields)
    return {key: value for key, value in event.items() if value is not None}


def _line(**fields: Any) -> str:
    return json.dumps(_event(**fields), separators=(",", ":"))


# Constructed Firehose -> S3 object: the life of two messages, one event per line.
FIREHOSE_OBJECT = [
    _line(eventType="TEXT_QUEUED", eventTimestamp=1777896718300, isFinal=False, messageStatus="QUEUED"),
    _line(eventType="TEXT_PENDING", eventTimestamp=1777896719000, isFinal=False, messageStatus="PENDING"),
    _line(),
    _line(
        eventType="TEXT_CARRIER_UNREACHABLE",
        messageId="a1b2c3d4-0000-4000-8000-000000000002",
        destinationPhoneNumber="+14255550199",
        messageStatus="CARRIER_UNREACHABLE",
        messageStatusDescription="The carrier is unreachable",
        totalMessageParts=1,
        totalMessagePrice=0.00581,
        totalCarrierFee=0.0,
    ),
]

LEGACY_SUCCESS = {
    "event_type": "_SMS.SUCCESS",
    "event_timestamp": 1553104954322,
    "arrival_timestamp": 1553104954064,
    "event_version": "3.1",
    "application": {"app_id": "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6", "sdk": {}},
    "client": {"client_id": "123456789012"},
    "device": {"platform": {}},
    "session": {},
    "attributes": {
        "sender_request_id": "565d4425-4b3a-11e9-b0a5-example",
        "campaign_activity_id": "cbcfc3c5e3bd48a8ae2b9cb41example",
        "origination_phone_number": "+12065550152",
        "destination_phone_number": "+14255550142",
        "record_status": "DELIVERED",
        "iso_country_code": "US",
        "treatment_id": "0",
        "number_of_message_parts": "1",
        "message_id": "1111-2222-3333",
        "message_type": "Transactional",
        "campaign_id": "52dc44b35c4742d5a8e0c5a9example",
    },
    "metrics": {"price_in_millicents_usd": 645.0},
    "awsAccountId": "123456789012",
}


def test_format_is_registered_for_aws() -> None:
    assert FORMATS["aws_sms_events"].provider == "aws"
    assert FORMATS["aws_sms_events"].adapter() is parse_json


# --- configuration-set events ---------------------------------------------------------------------


def test_firehose_object_yields_one_report_per_line() -> None:
    reports = only_reports(list(parse_json(numbered(*FIREHOSE_OBJECT), CTX)))

    assert [r.position for r in reports] == [1, 2, 3, 4]
    assert [r.raw_status for r in reports] == [
        "TEXT_QUEUED",
        "TEXT_PENDING",
        "TEXT_DELIVERED",
        "TEXT_CARRIER_UNREACHABLE",
    ]
    assert {r.raw_error for r in reports} == {None}
    assert {r.provider for r in reports} == {"aws"}
    assert [r.raw_text for r in reports] == FIREHOSE_OBJECT


def test_delivered_event_maps_every_field() -> None:
    (report,) = only_reports(list(parse_json(numbered(_line()), CTX)))

    assert report.provider_message_id == "862a8790-60c0-4430-9b2b-658bdexample"
    assert report.event_at == datetime(2026, 5, 4, 12, 12, 0, 250000, tzinfo=UTC)
    assert report.submitted_at == datetime(2026, 5, 4, 12, 11, 58, 100000, tzinfo=UTC)
    assert (report.phone, report.sender, report.segments) == ("+14255550156", "+12065550152", 2)
    assert (report.price, report.price_unit) == (Decimal("0.01464"), "USD")


def test_price_is_message_price_plus_carrier_fee_and_either_may_be_missing() -> None:
    lines = numbered(
        _line(totalCarrierFee=None),
        _line(totalMessagePrice=None),
        _line(totalMessagePrice=None, totalCarrierFee=None),
        _line(totalMessagePrice="0.00581", totalCarrierFee="0.0025"),
    )

    prices = [(r.price, r.price_unit) for r in only_reports(list(parse_json(lines, CTX)))]

    assert prices == [
        (Decimal("0.01162"), "USD"),
        (Decimal("0.00302"), "USD"),
        (None, None),
        (Decimal("0.00831"), "USD"),
    ]


def test_timestamps_given_as_strings_of_digits_are_read() -> None:
    line = _line(eventTimestamp="1777896720250", messageRequestTimestamp=None, totalMessageParts="1")

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    assert report.event_at == datetime(2026, 5, 4, 12, 12, 0, 250000, tzinfo=UTC)
    assert (report.submitted_at, report.segments) == (None, 1)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_sms_event_type_is_the_raw_status_and_has_its_own_seed_row(event_type: str) -> None:
    (report,) = only_reports(list(parse_json(numbered(_line(eventType=event_type)), CTX)))

    assert (report.raw_status, report.raw_error) == (event_type, None)
    row = seed_row("aws", report.raw_status, report.error_code)
    assert row is not None
    assert row["raw_status"] == event_type


def test_firehose_sample_reports_have_seed_rows() -> None:
    for report in only_reports(list(parse_json(numbered(*FIREHOSE_OBJECT), CTX))):
        assert seed_row("aws", report.raw_status, report.error_code) is not None


# --- Firehose concatenation -----------------------------------------------------------------------


def test_concatenated_events_on_one_line_are_split_into_records_at_that_position() -> None:
    line = "".join(FIREHOSE_OBJECT[:3])

    reports = only_reports(list(parse_json(numbered("", line), CTX)))

    assert [r.raw_status for r in reports] == ["TEXT_QUEUED", "TEXT_PENDING", "TEXT_DELIVERED"]
    assert {r.position for r in reports} == {2}
    assert [r.raw_text for r in reports] == FIREHOSE_OBJECT[:3]


def test_concatenation_is_split_by_the_json_decoder_not_by_the_characters() -> None:
    tricky = _line(messageStatusDescription="carrier said }{ twice", context={"note": "}{"})
    line = tricky + " " + _line(eventType="TEXT_SUCCESSFUL")

    first, second = only_reports(list(parse_json(numbered(line), CTX)))

    assert first.raw_text == tricky
    assert second.raw_status == "TEXT_SUCCESSFUL"


def test_unreadable_rest_of_a_concatenated_line_is_rejected_after_the_good_events() -> None:
    line = FIREHOSE_OBJECT[0] + FIREHOSE_OBJECT[1][:40]

    report, reject = parse_json(numbered(line), CTX)

    assert isinstance(report, Report)
    assert report.raw_status == "TEXT_QUEUED"
    assert isinstance(reject, Reject)
    assert reject.reason.startswith(f"invalid JSON (after {len(FIREHOSE_OBJECT[0])} characters")
    assert reject.raw_text == FIREHOSE_OBJECT[1][:40]


# --- legacy Pinpoint event stream -----------------------------------------------------------------


def test_legacy_pinpoint_success_event_is_read_with_record_status_as_code() -> None:
    (report,) = only_reports(list(parse_json(numbered(json.dumps(LEGACY_SUCCESS)), CTX)))

    assert (report.provider_message_id, report.raw_status, report.raw_error) == (
        "1111-2222-3333",
        "_SMS.SUCCESS",
        "DELIVERED",
    )
    assert report.event_at == datetime(2019, 3, 20, 18, 2, 34, 322000, tzinfo=UTC)
    assert (report.phone, report.sender, report.segments) == ("+14255550142", "+12065550152", 1)
    assert (report.price, report.price_unit) == (Decimal("0.00645"), "USD")
    row = seed_row("aws", report.raw_status, report.error_code)
    assert row is not None
    assert row["outcome"] == "delivered"


def test_legacy_opted_out_failure_is_denylisted_by_the_seed() -> None:
    event = {**LEGACY_SUCCESS, "event_type": "_SMS.FAILURE"}
    event["attributes"] = {**LEGACY_SUCCESS["attributes"], "record_status": "OPTED_OUT"}  # type: ignore[dict-item]

    (report,) = only_reports(list(parse_json(numbered(json.dumps(event)), CTX)))

    row = seed_row("aws", report.raw_status, report.error_code)
    assert row is not None
    assert (row["failure_type"], row["failure_reason"]) == ("Hard", "Denylisted")


def test_legacy_opt_out_notification_and_non_sms_events_are_rejected() -> None:
    lines = numbered(
        json.dumps({**LEGACY_SUCCESS, "event_type": "_SMS.OPTOUT"}),
        json.dumps({**LEGACY_SUCCESS, "event_type": "_email.send"}),
        _line(eventType="VOICE_COMPLETED"),
        _line(eventType="MMS_DELIVERED"),
        json.dumps({**LEGACY_SUCCESS, "attributes": {"record_status": "DELIVERED"}}),
        json.dumps({**LEGACY_SUCCESS, "attributes": ["x"]}),
    )

    assert reject_reasons(parse_json(lines, CTX)) == [
        "event_type _SMS.OPTOUT: an opt-out notification, not a delivery report",
        "event_type '_email.send' is not an SMS event (_SMS.*)",
        "eventType 'VOICE_COMPLETED' is not an SMS event (TEXT_*)",
        "eventType 'MMS_DELIVERED' is not an SMS event (TEXT_*)",
        "missing attributes.message_id (_SMS.SUCCESS)",
        "attributes ['x'] is not an object",
    ]


# --- rejects and robustness -----------------------------------------------------------------------


def test_unreadable_events_are_rejected_naming_field_and_value() -> None:
    lines = numbered(
        _line(eventType=None),
        _line(messageId=None),
        _line(eventTimestamp="2026-05-04T12:12:00Z"),
        _line(eventTimestamp=-5),
        _line(eventTimestamp=10**20),
        _line(totalMessagePrice="n/a"),
        _line(totalMessageParts=1.5),
        _line(eventType=7),
        _line(destinationPhoneNumber=["+1"]),
        '{"hello": "world"}',
        "[]",
    )

    assert reject_reasons(parse_json(lines, CTX)) == [
        "missing eventType",
        "missing messageId (TEXT_DELIVERED)",
        "eventTimestamp '2026-05-04T12:12:00Z' is not a number",
        "eventTimestamp -5 is not epoch milliseconds",
        f"eventTimestamp {10**20} is out of range for epoch milliseconds",
        "totalMessagePrice 'n/a' is not a number",
        "totalMessageParts 1.5 is not a whole number",
        "eventType '7' is not an SMS event (TEXT_*)",
        "destinationPhoneNumber ['+1'] is not a string",
        "missing eventType",
        "expected a JSON object, got list",
    ]


def test_deeply_nested_json_is_rejected_not_raised() -> None:
    (record,) = parse_json(numbered("[" * 100_000), CTX)

    assert isinstance(record, Reject)


def test_every_non_blank_line_yields_a_record_and_blank_lines_none() -> None:
    garbage = ["", "  ", "{", "null", "}{", "{}{}", "\x00", '"x"', "1 2", "{} trailing"]
    lines = numbered(*garbage)

    positions = {record.position for record in parse_json(lines, CTX)}

    assert positions == {position for position, text in lines if text.strip()}


def test_numbers_too_large_for_the_report_table_are_rejected() -> None:
    lines = numbered(_line(totalMessagePrice=1e8, totalCarrierFee=None), _line(totalMessageParts=2**40))

    price, parts = parse_json(lines, CTX)

    assert isinstance(price, Reject)
    assert price.reason == "price 100000000.0 is out of range"
    assert isinstance(parts, Reject)
    assert parts.reason == f"totalMessageParts {2**40} is out of range"
