"""Adapter for AWS End User Messaging SMS events (format ``aws_sms_events``).

The events a configuration set's event destination publishes, as an Amazon Data Firehose delivery
stream writes them to S3: one JSON event object per line. Firehose concatenates records without a
separator unless a processor adds a newline, so a line may also hold several objects back to back
(``{...}{...}``): they are read one after the other, each its own record at the line's position.
The split is done by the JSON decoder, so a ``}{`` inside a string does not cut an event.

Mapping of an SMS event (``eventType`` ``TEXT_*``): ``messageId`` is the id, ``eventType`` the raw
status (``TEXT_DELIVERED``, ...), ``eventTimestamp`` the event time and ``messageRequestTimestamp``
the submit time (both epoch milliseconds), ``destinationPhoneNumber`` the handset,
``originationPhoneNumber`` our number or sender id, ``totalMessageParts`` the segments and
``totalMessagePrice + totalCarrierFee`` the price, in USD.

There is no raw error: ``messageStatus`` restates the event type without its ``TEXT_`` prefix
(``DELIVERED``, ``SUCCESSFUL``, ...), so the seed keys AWS events by ``eventType`` alone, and using
``messageStatus`` as a code would only add one *to qualify* row per failure type. ``isFinal`` is
not read either: finality comes from the seed. Both stay in ``raw_text``.

The legacy Amazon Pinpoint event stream (``event_type`` ``_SMS.SUCCESS``/``_SMS.BUFFERED``/
``_SMS.FAILURE``, fields under ``attributes``) is read too, as the seed's ``_SMS.*`` rows expect:
``attributes.record_status`` is the raw error and ``metrics.price_in_millicents_usd`` the price.

Rejected with the reason: MMS, voice, RCS and other non-SMS events (configure the event
destination with ``TEXT_ALL``), and the legacy ``_SMS.OPTOUT`` opt-out notification, which is
not a delivery report and carries no reply text. An adapter never raises on bad input, and every
non-blank line yields at least one record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sms_tracking.reports.base import ParseContext, Record, Reject, Report
from sms_tracking.reports.fields import (
    PRICE_LIMIT,
    FieldError,
    count_value,
    decimal_value,
    nested_object,
    optional_text,
)

PRICE_UNIT = "USD"
"""AWS prices SMS events in US dollars."""

SMS_EVENT_PREFIX = "TEXT_"
LEGACY_EVENT_PREFIX = "_SMS."
LEGACY_OPT_OUT = "_SMS.OPTOUT"
_MILLICENTS_PER_USD = Decimal(100_000)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DECODER = json.JSONDecoder()


def parse_json(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> Iterator[Record]:
    """Read the event objects of each line (one, or several concatenated by Firehose)."""
    for position, line in lines:
        text = line.strip()
        if not text:
            continue
        for value, raw in _objects(text):
            if isinstance(value, FieldError):
                yield Reject(position, raw, str(value))
            else:
                yield _event(value, position, raw, ctx)


def _objects(text: str) -> Iterator[tuple[Any, str]]:
    """The JSON values of a line with the text of each; the unreadable rest of a line as an error."""
    start = 0
    while start < len(text):
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError as exc:
            where = f" (after {start} characters of concatenated events)" if start else ""
            yield FieldError(f"invalid JSON{where}: {exc}"), text[start:]
            return
        except RecursionError:
            yield FieldError("invalid JSON: nested too deeply"), text[start:]
            return
        yield value, text[start:end]
        start = end
        while start < len(text) and text[start].isspace():
            start += 1


def _event(value: Any, position: int, raw: str, ctx: ParseContext) -> Record:
    """Map one event object to a Report."""
    if not isinstance(value, dict):
        return Reject(position, raw, f"expected a JSON object, got {type(value).__name__}")
    try:
        if "eventType" in value:
            return _sms_event(value, position, raw, ctx)
        if "event_type" in value:
            return _legacy_event(value, position, raw, ctx)
        raise FieldError("missing eventType")
    except FieldError as exc:
        return Reject(position, raw, str(exc))


def _sms_event(event: Mapping[str, Any], position: int, raw: str, ctx: ParseContext) -> Report:
    """An AWS End User Messaging SMS configuration-set event."""
    event_type = optional_text(event, "eventType")
    if event_type is None:
        raise FieldError("missing eventType")
    if not event_type.startswith(SMS_EVENT_PREFIX):
        raise FieldError(f"eventType {event_type!r} is not an SMS event ({SMS_EVENT_PREFIX}*)")
    message_id = optional_text(event, "messageId")
    if message_id is None:
        raise FieldError(f"missing messageId ({event_type})")
    price = _sum(
        decimal_value(event.get("totalMessagePrice"), "totalMessagePrice"),
        decimal_value(event.get("totalCarrierFee"), "totalCarrierFee"),
    )
    return Report(
        provider=ctx.provider,
        provider_message_id=message_id,
        raw_status=event_type,
        raw_error=None,
        event_at=_epoch_ms(event, "eventTimestamp"),
        position=position,
        raw_text=raw,
        submitted_at=_epoch_ms(event, "messageRequestTimestamp"),
        phone=optional_text(event, "destinationPhoneNumber"),
        sender=optional_text(event, "originationPhoneNumber"),
        segments=count_value(event.get("totalMessageParts"), "totalMessageParts"),
        price=price,
        price_unit=None if price is None else PRICE_UNIT,
    )


def _legacy_event(event: Mapping[str, Any], position: int, raw: str, ctx: ParseContext) -> Report:
    """A legacy Amazon Pinpoint event-stream SMS event (``_SMS.*``)."""
    event_type = optional_text(event, "event_type")
    if event_type is None:
        raise FieldError("missing event_type")
    if not event_type.startswith(LEGACY_EVENT_PREFIX):
        raise FieldError(f"event_type {event_type!r} is not an SMS event ({LEGACY_EVENT_PREFIX}*)")
    if event_type == LEGACY_OPT_OUT:
        raise FieldError(f"event_type {LEGACY_OPT_OUT}: an opt-out notification, not a delivery report")
    attributes = nested_object(event, "attributes")
    message_id = optional_text(attributes, "message_id", "attributes.")
    if message_id is None:
        raise FieldError(f"missing attributes.message_id ({event_type})")
    metrics = nested_object(event, "metrics")
    millicents = decimal_value(metrics.get("price_in_millicents_usd"), "metrics.price_in_millicents_usd")
    price = _sum(None if millicents is None else millicents / _MILLICENTS_PER_USD)
    return Report(
        provider=ctx.provider,
        provider_message_id=message_id,
        raw_status=event_type,
        raw_error=optional_text(attributes, "record_status", "attributes."),
        event_at=_epoch_ms(event, "event_timestamp"),
        position=position,
        raw_text=raw,
        phone=optional_text(attributes, "destination_phone_number", "attributes."),
        sender=optional_text(attributes, "origination_phone_number", "attributes."),
        segments=count_value(attributes.get("number_of_message_parts"), "attributes.number_of_message_parts"),
        price=price,
        price_unit=None if price is None else PRICE_UNIT,
    )


def _sum(*amounts: Decimal | None) -> Decimal | None:
    """The sum of the amounts given; None when none is; a sum too large to be a price is rejected."""
    given = [amount for amount in amounts if amount is not None]
    if not given:
        return None
    total = sum(given, Decimal(0))
    if abs(total) >= PRICE_LIMIT:
        raise FieldError(f"price {total} is out of range")
    return total


def _epoch_ms(event: Mapping[str, Any], name: str) -> datetime | None:
    """Epoch milliseconds (a number or a string of digits) as a UTC datetime."""
    number = decimal_value(event.get(name), name)
    if number is None:
        return None
    if number != number.to_integral_value() or number < 0:
        raise FieldError(f"{name} {event.get(name)!r} is not epoch milliseconds")
    try:
        return _EPOCH + timedelta(milliseconds=int(number))
    except OverflowError:
        raise FieldError(f"{name} {event.get(name)!r} is out of range for epoch milliseconds") from None
