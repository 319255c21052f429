"""Tests of the Sinch adapter.

No sample file is provided for Sinch: the callbacks below are CONSTRUCTED from the recipient
delivery report fields of the Sinch SMS REST API reference (reference sms-domain.md 2.6) and the
outputs shown in Sinch's SDK tutorials (``code`` 401 with ``Dispatched``, 0 with ``Delivered``).
Batch ids, numbers and times are made up.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.unit.reports.helpers import Prefix, numbered, only_reports, reject_reasons, seed_row

from sms_tracking.reports import FORMATS
from sms_tracking.reports.base import Inbound, ParseContext, Reject, Report
from sms_tracking.reports.sinch import message_id, parse_json

CTX = ParseContext(source="sinch_test", provider="sinch")
STATUSES = [
    "Queued",
    "Dispatched",
    "Aborted",
    "Cancelled",
    "Rejected",
    "Deleted",
    "Delivered",
    "Failed",
    "Expired",
]
STATUSES.append("Unknown")
"""The ten statuses of Sinch's delivery-report reference."""

BATCH = "01JB1J1M5BM5XQ8Q0ZWBM44E14"


def _callback(**fields: Any) -> str:
    """A constructed recipient delivery report, overridden by ``fields`` (None removes)."""
    body: dict[str, Any] = {
        "type": "recipient_delivery_report_sms",
        "batch_id": BATCH,
        "recipient": "447700900123",
        "code": 0,
        "status": "Delivered",
        "at": "2026-05-04T10:02:42.148Z",
        "operator_status_at": "2026-05-04T10:02:00Z",
        "operator": "23410",
        "client_reference": "delivery-42",
        "applied_originator": "AcmeInc",
        "number_of_message_parts": 2,
        "encoding": "GSM",
    }
    body.update(fields)
    return json.dumps({key: value for key, value in body.items() if value is not None})


# Constructed callback log: one message dispatched then delivered, another failing.
CALLBACKS = [
    _callback(status="Dispatched", code=401, at="2026-05-04T10:01:58.512Z", operator_status_at=None),
    _callback(),
    _callback(recipient="447700900456", status="Failed", code=402, operator_status_at=None),
]


def test_format_is_registered_for_sinch() -> None:
    assert FORMATS["sinch_json"].provider == "sinch"
    assert FORMATS["sinch_json"].adapter() is parse_json


def test_constructed_callbacks_map_batch_and_recipient_to_one_message_id() -> None:
    dispatched, delivered, failed = only_reports(list(parse_json(numbered(*CALLBACKS), CTX)))

    assert dispatched.provider_message_id == delivered.provider_message_id == f"{BATCH}:447700900123"
    assert failed.provider_message_id == message_id(BATCH, "447700900456")
    assert [(r.raw_status, r.raw_error) for r in (dispatched, delivered, failed)] == [
        ("Dispatched", "401"),
        ("Delivered", "0"),
        ("Failed", "402"),
    ]
    assert [r.position for r in (dispatched, delivered, failed)] == [1, 2, 3]
    assert delivered.raw_text == CALLBACKS[1]


def test_delivered_callback_maps_every_field() -> None:
    (report,) = only_reports(list(parse_json(numbered(_callback()), CTX)))

    assert report.event_at == datetime(2026, 5, 4, 10, 2, tzinfo=UTC)
    assert (report.phone, report.sender, report.segments) == ("447700900123", "AcmeInc", 2)
    assert (report.submitted_at, report.price, report.price_unit) == (None, None, None)


def test_event_time_falls_back_to_at_without_operator_status_at() -> None:
    dispatched = next(parse_json(numbered(CALLBACKS[0]), CTX))

    assert isinstance(dispatched, Report)
    assert dispatched.event_at == datetime(2026, 5, 4, 10, 1, 58, 512000, tzinfo=UTC)


def test_zone_less_dates_are_read_in_the_source_zone() -> None:
    ctx = ParseContext(source="sinch_test", provider="sinch", tz=ZoneInfo("Europe/Stockholm"))

    (report,) = only_reports(list(parse_json(numbered(_callback(operator_status_at="2026-05-04T12:02:00")), ctx)))

    assert report.event_at == datetime(2026, 5, 4, 10, 2, tzinfo=UTC)


def test_constructed_callbacks_have_seed_rows() -> None:
    for report in only_reports(list(parse_json(numbered(*CALLBACKS), CTX))):
        row = seed_row("sinch", report.raw_status, report.error_code)
        assert row is not None
        assert row["raw_status"] == report.raw_status


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_in_any_case_is_read_with_sinch_capitalisation(status: str) -> None:
    (report,) = only_reports(list(parse_json(numbered(_callback(status=status.upper())), CTX)))

    assert report.raw_status == status
    row = seed_row("sinch", report.raw_status, report.error_code)
    assert row is not None
    assert row["raw_status"] == status


def test_code_given_as_text_or_absent() -> None:
    lines = numbered(_callback(code="0402", status="Failed"), _callback(code=None))

    text, absent = only_reports(list(parse_json(lines, CTX)))

    assert (text.raw_error, text.error_code) == ("0402", "402")
    assert absent.raw_error is None


def test_report_without_type_is_read_as_a_recipient_report() -> None:
    (report,) = only_reports(list(parse_json(numbered(_callback(type=None)), CTX)))

    assert report.raw_status == "Delivered"


def test_mms_recipient_report_is_read_too() -> None:
    (report,) = only_reports(list(parse_json(numbered(_callback(type="recipient_delivery_report_mms")), CTX)))

    assert report.provider_message_id == f"{BATCH}:447700900123"


def test_inbound_text_message_becomes_inbound() -> None:
    line = json.dumps(
        {
            "type": "mo_text",
            "id": "01JB1K0000000000000000MO01",
            "from": "447700900123",
            "to": "447700900999",
            "body": "STOP",
            "received_at": "2026-05-04T10:05:00.000Z",
            "operator_id": "23410",
        }
    )

    (record,) = parse_json(numbered(line), CTX)

    assert record == Inbound(
        "sinch",
        "01JB1K0000000000000000MO01",
        "447700900123",
        "447700900999",
        "STOP",
        datetime(2026, 5, 4, 10, 5, tzinfo=UTC),
        1,
    )


def test_unreadable_callbacks_are_rejected_naming_field_and_value() -> None:
    batch_report = {
        "type": "delivery_report_sms",
        "batch_id": BATCH,
        "statuses": [],
        "total_message_count": 1,
    }
    lines = numbered(
        json.dumps(batch_report),
        _callback(type="mt_text"),
        _callback(batch_id=None),
        _callback(recipient=""),
        _callback(status=None),
        _callback(at="yesterday", operator_status_at=None),
        _callback(code=True),
        _callback(number_of_message_parts="two"),
        json.dumps({"type": "mo_text", "body": "STOP"}),
        "[]",
        "{",
    )

    records = list(parse_json(lines, CTX))

    assert reject_reasons(records) == [
        "type 'delivery_report_sms' is a batch summary, not a per-recipient report (use per_recipient)",
        "type 'mt_text' is not a recipient delivery report",
        "missing batch_id",
        f"missing recipient (batch_id {BATCH!r})",
        f"missing status (batch_id {BATCH!r}, recipient '447700900123')",
        "at 'yesterday' is not an ISO-8601 date",
        "code True is not a number",
        "number_of_message_parts 'two' is not a whole number",
        "inbound message has no from",
        "expected a JSON object, got list",
        Prefix("invalid JSON"),
    ]
    assert records[2].raw_text == lines[2][1]


def test_every_non_blank_line_yields_a_record_and_blank_lines_none() -> None:
    garbage = ["", "  ", "{", "null", "{}", '{"type": 5}', "\x00", '"x"', '{"batch_id": "B"}']
    lines = numbered(*garbage)

    positions = [record.position for record in parse_json(lines, CTX)]

    assert positions == [position for position, text in lines if text.strip()]


def test_parts_too_many_for_the_report_table_are_rejected() -> None:
    (record,) = parse_json(numbered(_callback(number_of_message_parts=2**40)), CTX)

    assert isinstance(record, Reject)
    assert record.reason == f"number_of_message_parts {2**40} is out of range"
