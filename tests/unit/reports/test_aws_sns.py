"""Tests of the Amazon SNS SMS delivery-status log adapter.

No sample file is provided for SNS: the records below are CONSTRUCTED from the fields of the SUCCESS and
FAILURE example logs of the Amazon SNS documentation ("Viewing CloudWatch metrics and logs for SMS
deliveries"), and the failure texts are its list of "SMS delivery failure reasons" (the
``providerResponse`` values). Ids, numbers, times and prices are made up.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.unit.reports.helpers import Prefix, numbered, only_reports, reject_reasons, seed_row

from sms_tracking.reports import FORMATS
from sms_tracking.reports.aws_sns import parse_logs
from sms_tracking.reports.base import ParseContext

CTX = ParseContext(source="sns_test", provider="aws")

QUALIFIED: dict[tuple[str, str], tuple[str, ...]] = {
    ("Hard", "Refused"): ("Destination is on a blocked list", "Phone has blocked SMS", "Phone is on a blocked list"),
    ("Hard", "User unknown"): ("Invalid phone number",),
    ("Hard", "Denylisted"): ("Phone number is opted out",),
    ("Soft", "Unreachable"): ("Phone carrier is currently unreachable/unavailable",),
    ("Soft", "Not defined"): ("Unknown error attempting to reach phone",),
    ("Ignored", "Not connected"): ("Phone is currently unreachable/unavailable",),
    ("Ignored", "Refused"): (
        "Blocked as spam by phone carrier",
        "Message body is invalid",
        "Phone carrier has blocked this message",
        "This delivery would exceed max price",
    ),
}
FAILURE_REASONS = {response: qualified for qualified, responses in QUALIFIED.items() for response in responses}
"""The documented failure reasons with the type and reason the shared decisions give them."""


def _record(status: str = "SUCCESS", **delivery: Any) -> dict[str, Any]:
    """A constructed log record; ``delivery`` fields override (None removes)."""
    fields: dict[str, Any] = {
        "phoneCarrier": "My Phone Carrier",
        "mnc": 270,
        "destination": "+14255550100",
        "priceInUSD": 0.00645,
        "smsType": "Transactional",
        "mcc": 310,
        "providerResponse": "Message has been accepted by phone carrier",
        "dwellTimeMs": 599,
        "dwellTimeMsUntilDeviceAck": 1344,
    }
    fields.update(delivery)
    return {
        "notification": {"messageId": "34d9b400-c6dd-5444-820d-fbeb0f1f54cf", "timestamp": "2026-05-04 12:10:34.558"},
        "delivery": {key: value for key, value in fields.items() if value is not None},
        "status": status,
    }


def _line(status: str = "SUCCESS", **delivery: Any) -> str:
    return json.dumps(_record(status, **delivery))


def test_format_is_registered_for_aws() -> None:
    assert FORMATS["aws_sns_logs"].provider == "aws"
    assert FORMATS["aws_sns_logs"].adapter() is parse_logs


def test_success_record_maps_every_field() -> None:
    (report,) = only_reports(list(parse_logs(numbered(_line()), CTX)))

    assert (report.provider, report.provider_message_id) == ("aws", "34d9b400-c6dd-5444-820d-fbeb0f1f54cf")
    assert (report.raw_status, report.raw_error) == ("SUCCESS", None)
    assert report.submitted_at == datetime(2026, 5, 4, 12, 10, 34, 558000, tzinfo=UTC)
    assert report.event_at == datetime(2026, 5, 4, 12, 10, 35, 902000, tzinfo=UTC)  # + device ack dwell
    assert (report.phone, report.price, report.price_unit) == ("+14255550100", Decimal("0.00645"), "USD")
    row = seed_row("aws", report.raw_status, report.error_code)
    assert row is not None
    assert (row["outcome"], row["is_final"]) == ("delivered", "true")


def test_event_time_falls_back_to_the_dwell_time_until_the_hand_over() -> None:
    line = _line(dwellTimeMsUntilDeviceAck=None, numberOfMessageParts=2)

    (report,) = only_reports(list(parse_logs(numbered(line), CTX)))

    assert report.event_at == datetime(2026, 5, 4, 12, 10, 35, 157000, tzinfo=UTC)
    assert report.segments == 2


def test_the_zone_less_timestamp_is_read_in_the_source_zone() -> None:
    ctx = ParseContext(source="sns_test", provider="aws", tz=ZoneInfo("Europe/Paris"))

    (report,) = only_reports(list(parse_logs(numbered(_line()), ctx)))

    assert report.submitted_at == datetime(2026, 5, 4, 10, 10, 34, 558000, tzinfo=UTC)


@pytest.mark.parametrize(("response", "qualified"), sorted(FAILURE_REASONS.items()))
def test_every_documented_failure_reason_is_the_code_and_has_its_seed_row(
    response: str, qualified: tuple[str, str]
) -> None:
    (report,) = only_reports(list(parse_logs(numbered(_line("FAILURE", providerResponse=response)), CTX)))

    assert (report.raw_status, report.raw_error) == ("FAILURE", response)
    row = seed_row("aws", report.raw_status, report.error_code)
    assert row is not None
    assert row["error_code"] == response.upper()
    assert (row["outcome"], row["failure_type"], row["failure_reason"]) == ("failed", *qualified)


def test_the_price_limit_is_an_account_refusal_not_a_soft_failure_of_the_number() -> None:
    line = _line("FAILURE", providerResponse="This delivery would exceed max price")

    (report,) = only_reports(list(parse_logs(numbered(line), CTX)))

    row = seed_row("aws", report.raw_status, report.error_code)
    assert row is not None
    assert (row["failure_type"], row["failure_reason"]) == ("Ignored", "Refused")


def test_a_new_failure_text_falls_back_to_soft_not_defined() -> None:
    line = _line("FAILURE", providerResponse="Something SNS never said before")

    (report,) = only_reports(list(parse_logs(numbered(line), CTX)))

    row = seed_row("aws", report.raw_status, report.error_code)
    assert row is not None
    assert (row["error_code"], row["failure_type"], row["failure_reason"]) == ("*", "Soft", "Not defined")


def test_a_cloudwatch_export_line_and_a_subscription_envelope_are_read() -> None:
    record = _line("FAILURE", providerResponse="Invalid phone number")
    envelope = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "sns/us-east-1/123456789012/DirectPublishToPhoneNumber/Failure",
        "logStream": "stream",
        "subscriptionFilters": ["sms"],
        "logEvents": [
            {"id": "1", "timestamp": 1777896634558, "message": record},
            {"id": "2", "timestamp": 1777896634559, "message": _line()},
        ],
    }
    lines = numbered(f"2026-05-04T12:10:36.000Z {record}", json.dumps(envelope))

    reports = only_reports(list(parse_logs(lines, CTX)))

    assert [(r.position, r.raw_status, r.raw_error) for r in reports] == [
        (1, "FAILURE", "Invalid phone number"),
        (2, "FAILURE", "Invalid phone number"),
        (2, "SUCCESS", None),
    ]
    assert reports[0].raw_text == record
    assert reports[1].raw_text == record


def test_unreadable_records_are_rejected_naming_field_and_value() -> None:
    control = {"messageType": "CONTROL_MESSAGE", "logEvents": [{"id": "", "message": "CWL CONTROL MESSAGE"}]}
    no_id = _record()
    no_id["notification"] = {"timestamp": "2026-05-04 12:10:34.558"}
    lines = numbered(
        json.dumps(no_id),
        _line("PENDING"),
        json.dumps({**_record(), "status": None}),
        json.dumps({**_record(), "notification": {"messageId": "x", "timestamp": "yesterday"}}),
        _line(priceInUSD="n/a"),
        _line(dwellTimeMsUntilDeviceAck=-1),
        _line(destination=["+1"]),
        json.dumps(control),
        json.dumps({"messageType": "DATA_MESSAGE", "logEvents": [{"message": "{"}]}),
        "[]",
        "{",
    )

    assert reject_reasons(parse_logs(lines, CTX)) == [
        "missing notification.messageId",
        "status 'PENDING' is not SUCCESS or FAILURE",
        "missing status (messageId '34d9b400-c6dd-5444-820d-fbeb0f1f54cf')",
        "notification.timestamp 'yesterday' is not a date and time",
        "delivery.priceInUSD 'n/a' is not a number",
        "delivery.dwellTimeMsUntilDeviceAck -1 is out of range",
        "delivery.destination ['+1'] is not a string",
        "a CloudWatch Logs CONTROL_MESSAGE, not a delivery-status log",
        Prefix("invalid JSON in the log event's message"),
        "expected a JSON object, got list",
        Prefix("invalid JSON"),
    ]


def test_every_non_blank_line_yields_a_record_and_blank_lines_none() -> None:
    garbage = ["", "  ", "{", "null", "}{", "2026 {", "\x00", '"x"', "1 2", '{"logEvents": 1}', "[" * 100_000]
    lines = numbered(*garbage)

    positions = {record.position for record in parse_logs(lines, CTX)}

    assert positions == {position for position, text in lines if text.strip()}
