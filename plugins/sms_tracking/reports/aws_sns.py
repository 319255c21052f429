"""Adapter for Amazon SNS SMS delivery-status logs (format ``aws_sns_logs``).

When delivery-status logging is on for SMS, SNS writes one JSON record per message to CloudWatch Logs
(log groups ``sns/<region>/<account>/DirectPublishToPhoneNumber`` and ``.../Failure``), e.g.::

    {"notification": {"messageId": "34d9...", "timestamp": "2016-06-28 00:40:34.558"},
     "delivery": {"destination": "+1XXX5550100", "priceInUSD": 0.00645, "smsType": "Transactional",
                  "providerResponse": "Message has been accepted by phone carrier",
                  "dwellTimeMs": 599, "dwellTimeMsUntilDeviceAck": 1344, "mcc": 310, "mnc": 270},
     "status": "SUCCESS"}

A line is such a record, or the same record as a CloudWatch Logs export to S3 writes it (the event's
ISO time, a space, then the record), or a subscription filter's envelope (``{"messageType":
"DATA_MESSAGE", "logEvents": [{"message": "<record>"}, ...]}``, one record per log event at the line's
position). A ``CONTROL_MESSAGE`` envelope (SNS checking the destination) holds no record and is rejected.

Mapping: ``notification.messageId`` is the id (the ``MessageId`` SNS ``Publish`` returned), ``status``
(``SUCCESS`` or ``FAILURE``) the raw status, and for a failure ``delivery.providerResponse`` the raw
error: SNS gives no code, its response text is the code (upper-cased like every code, see
:func:`~sms_tracking.reports.base.normalise_error_code`). A success keeps no code, its response
("Message has been accepted by phone carrier") says nothing more than the status. The submit time is
``notification.timestamp`` (the publish time, written without a zone: read in the source's zone,
UTC by default); the event time adds ``delivery.dwellTimeMsUntilDeviceAck``, else
``delivery.dwellTimeMs``, to it. ``delivery.destination`` is the handset, ``delivery.priceInUSD`` the
price in USD, ``delivery.numberOfMessageParts`` the segments when SNS writes it. An adapter never
raises on bad input, and every non-blank line yields at least one record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from sms_tracking.reports.base import ParseContext, Record, Reject, Report, as_utc
from sms_tracking.reports.fields import (
    FieldError,
    count_value,
    decimal_value,
    json_value,
    nested_object,
    optional_text,
    price_value,
)

PRICE_UNIT = "USD"
STATUSES = ("SUCCESS", "FAILURE")
"""The two values of ``status`` in an SMS delivery-status log."""
DATA_MESSAGE = "DATA_MESSAGE"
CONTROL_MESSAGE = "CONTROL_MESSAGE"
_DWELL_LIMIT_MS = 10**12
"""A dwell time beyond about 30 years is a broken value, not a delay."""


def parse_logs(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> Iterator[Record]:
    """Read one log record, one exported log line or one subscription-filter envelope per line."""
    for position, line in lines:
        text = line.strip()
        if not text:
            continue
        if not text.startswith("{"):
            text = _exported(text)
        value = json_value(text, position, line)
        if isinstance(value, Reject):
            yield value
        elif isinstance(value, dict) and "logEvents" in value:
            yield from _envelope(value, position, line, ctx)
        else:
            yield _record(value, position, text, ctx)


def _exported(text: str) -> str:
    """The record of a CloudWatch Logs export line (``2016-06-28T00:40:34.558Z {...}``); else the text."""
    stamp, _, rest = text.partition(" ")
    return rest.lstrip() if rest.lstrip().startswith("{") and stamp[:1].isdigit() else text


def _envelope(value: Mapping[str, Any], position: int, line: str, ctx: ParseContext) -> Iterator[Record]:
    """A CloudWatch Logs subscription-filter envelope: one record per log event."""
    kind = value.get("messageType")
    if kind == CONTROL_MESSAGE:
        yield Reject(position, line, "a CloudWatch Logs CONTROL_MESSAGE, not a delivery-status log")
        return
    events = value.get("logEvents")
    if kind != DATA_MESSAGE or not isinstance(events, list) or not events:
        yield Reject(position, line, f"messageType {kind!r} with no list of logEvents is not a log envelope")
        return
    for event in events:
        message = event.get("message") if isinstance(event, dict) else None
        if not isinstance(message, str):
            yield Reject(position, json.dumps(event, ensure_ascii=False), "a log event without a message")
            continue
        record = json_value(message, position, message, "invalid JSON in the log event's message")
        yield record if isinstance(record, Reject) else _record(record, position, message, ctx)


def _record(value: Any, position: int, raw: str, ctx: ParseContext) -> Record:
    """Map one delivery-status log record to a Report."""
    if not isinstance(value, dict):
        return Reject(position, raw, f"expected a JSON object, got {type(value).__name__}")
    try:
        notification = nested_object(value, "notification")
        delivery = nested_object(value, "delivery")
        message_id = optional_text(notification, "messageId", "notification.")
        if message_id is None:
            raise FieldError("missing notification.messageId")
        status = optional_text(value, "status")
        if status is None:
            raise FieldError(f"missing status (messageId {message_id!r})")
        status = status.upper()
        if status not in STATUSES:
            raise FieldError(f"status {status!r} is not SUCCESS or FAILURE")
        response = optional_text(delivery, "providerResponse", "delivery.")
        submitted = _timestamp(notification, ctx)
        price = price_value(delivery.get("priceInUSD"), "delivery.priceInUSD")
        return Report(
            provider=ctx.provider,
            provider_message_id=message_id,
            raw_status=status,
            raw_error=response if status == "FAILURE" else None,
            event_at=_event_at(submitted, delivery),
            position=position,
            raw_text=raw,
            submitted_at=submitted,
            phone=optional_text(delivery, "destination", "delivery."),
            segments=count_value(delivery.get("numberOfMessageParts"), "delivery.numberOfMessageParts"),
            price=price,
            price_unit=None if price is None else PRICE_UNIT,
        )
    except FieldError as exc:
        return Reject(position, raw, str(exc))


def _timestamp(notification: Mapping[str, Any], ctx: ParseContext) -> datetime | None:
    """``notification.timestamp`` (``2016-06-28 00:40:34.558``), read in the source's zone when it has none."""
    text = optional_text(notification, "timestamp", "notification.")
    if text is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(text), ctx.tz)
    except ValueError:
        raise FieldError(f"notification.timestamp {text!r} is not a date and time") from None


def _event_at(submitted: datetime | None, delivery: Mapping[str, Any]) -> datetime | None:
    """The publish time plus the dwell time until the handset's receipt, else until the hand-over."""
    if submitted is None:
        return None
    for name in ("dwellTimeMsUntilDeviceAck", "dwellTimeMs"):
        dwell = decimal_value(delivery.get(name), f"delivery.{name}")
        if dwell is None:
            continue
        if dwell < 0 or dwell >= _DWELL_LIMIT_MS:
            raise FieldError(f"delivery.{name} {delivery.get(name)!r} is out of range")
        return submitted + timedelta(milliseconds=float(dwell))
    return submitted
