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
from decimal import Decimal, InvalidOperation
from typing import Any

from sms_tracking.reports.base import ParseContext, Record, Reject, Report

PRICE_UNIT = "USD"
"""AWS prices SMS events in US dollars."""

SMS_EVENT_PREFIX = "TEXT_"
LEGACY_EVENT_PREFIX = "_SMS."
LEGACY_OPT_OUT = "_SMS.OPTOUT"
_MILLICENTS_PER_USD = Decimal(100_000)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DECODER = json.JSONDecoder()
_PRICE_LIMIT = Decimal(10) ** 7
"""Prices are stored as numeric(12, 5): a larger one is a broken line, not a price."""
_COUNT_LIMIT = 2**31 - 1
"""Segments are stored as a Postgres integer."""


class _Invalid(ValueError):
    """A field whose value cannot be read; the message names the field and the value."""


def parse_json(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> Iterator[Record]:
    """Read the event objects of each line (one, or several concatenated by Firehose)."""
    for position, line in lines:
        text = line.strip()
        if not text:
            continue
        for value, raw in _objects(text):
            if isinstance(value, _Invalid):
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
            yield _Invalid(f"invalid JSON{where}: {exc}"), text[start:]
            return
        except RecursionError:
            yield _Invalid("invalid JSON: nested too deeply"), text[start:]
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
        raise _Invalid("missing eventType")
    except _Invalid as exc:
        return Reject(position, raw, str(exc))


def _sms_event(event: Mapping[str, Any], position: int, raw: str, ctx: ParseContext) -> Report:
    """An AWS End User Messaging SMS configuration-set event."""
    event_type = _text(event, "eventType")
    if event_type is None:
        raise _Invalid("missing eventType")
    if not event_type.startswith(SMS_EVENT_PREFIX):
        raise _Invalid(f"eventType {event_type!r} is not an SMS event ({SMS_EVENT_PREFIX}*)")
    message_id = _text(event, "messageId")
    if message_id is None:
        raise _Invalid(f"missing messageId ({event_type})")
    price = _sum(_decimal(event, "totalMessagePrice"), _decimal(event, "totalCarrierFee"))
    return Report(
        provider=ctx.provider,
        provider_message_id=message_id,
        raw_status=event_type,
        raw_error=None,
        event_at=_epoch_ms(event, "eventTimestamp"),
        position=position,
        raw_text=raw,
        submitted_at=_epoch_ms(event, "messageRequestTimestamp"),
        phone=_text(event, "destinationPhoneNumber"),
        sender=_text(event, "originationPhoneNumber"),
        segments=_count(event, "totalMessageParts"),
        price=price,
        price_unit=None if price is None else PRICE_UNIT,
    )


def _legacy_event(event: Mapping[str, Any], position: int, raw: str, ctx: ParseContext) -> Report:
    """A legacy Amazon Pinpoint event-stream SMS event (``_SMS.*``)."""
    event_type = _text(event, "event_type")
    if event_type is None:
        raise _Invalid("missing event_type")
    if not event_type.startswith(LEGACY_EVENT_PREFIX):
        raise _Invalid(f"event_type {event_type!r} is not an SMS event ({LEGACY_EVENT_PREFIX}*)")
    if event_type == LEGACY_OPT_OUT:
        raise _Invalid(f"event_type {LEGACY_OPT_OUT}: an opt-out notification, not a delivery report")
    attributes = _object(event, "attributes")
    message_id = _text(attributes, "message_id", "attributes.")
    if message_id is None:
        raise _Invalid(f"missing attributes.message_id ({event_type})")
    millicents = _decimal(_object(event, "metrics"), "price_in_millicents_usd", "metrics.")
    price = _sum(None if millicents is None else millicents / _MILLICENTS_PER_USD)
    return Report(
        provider=ctx.provider,
        provider_message_id=message_id,
        raw_status=event_type,
        raw_error=_text(attributes, "record_status", "attributes."),
        event_at=_epoch_ms(event, "event_timestamp"),
        position=position,
        raw_text=raw,
        phone=_text(attributes, "destination_phone_number", "attributes."),
        sender=_text(attributes, "origination_phone_number", "attributes."),
        segments=_count(attributes, "number_of_message_parts", "attributes."),
        price=price,
        price_unit=None if price is None else PRICE_UNIT,
    )


def _object(event: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A nested object; absent or null is empty."""
    value = event.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Invalid(f"{name} {value!r} is not an object")
    return value


def _text(event: Mapping[str, Any], name: str, prefix: str = "") -> str | None:
    """A string field, stripped; absent, null and empty are None; an integer is text."""
    value = event.get(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise _Invalid(f"{prefix}{name} {value!r} is not a string")
    return value.strip() or None


def _decimal(event: Mapping[str, Any], name: str, prefix: str = "") -> Decimal | None:
    """A number given as a number or a string (a float read through its repr: 0.09582 stays exact)."""
    value = event.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Invalid(f"{prefix}{name} {value!r} is not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _Invalid(f"{prefix}{name} {value!r} is not a number") from None
    if not number.is_finite():
        raise _Invalid(f"{prefix}{name} {value!r} is not a number")
    return number


def _sum(*amounts: Decimal | None) -> Decimal | None:
    """The sum of the amounts given; None when none is; a sum too large to be a price is rejected."""
    given = [amount for amount in amounts if amount is not None]
    if not given:
        return None
    total = sum(given, Decimal(0))
    if abs(total) >= _PRICE_LIMIT:
        raise _Invalid(f"price {total} is out of range")
    return total


def _count(event: Mapping[str, Any], name: str, prefix: str = "") -> int | None:
    """A whole, non-negative count."""
    number = _decimal(event, name, prefix)
    if number is None:
        return None
    if number != number.to_integral_value() or number < 0:
        raise _Invalid(f"{prefix}{name} {event.get(name)!r} is not a whole number")
    if number > _COUNT_LIMIT:
        raise _Invalid(f"{prefix}{name} {event.get(name)!r} is out of range")
    return int(number)


def _epoch_ms(event: Mapping[str, Any], name: str) -> datetime | None:
    """Epoch milliseconds (a number or a string of digits) as a UTC datetime."""
    number = _decimal(event, name)
    if number is None:
        return None
    if number != number.to_integral_value() or number < 0:
        raise _Invalid(f"{name} {event.get(name)!r} is not epoch milliseconds")
    try:
        return _EPOCH + timedelta(milliseconds=int(number))
    except OverflowError:
        raise _Invalid(f"{name} {event.get(name)!r} is out of range for epoch milliseconds") from None
