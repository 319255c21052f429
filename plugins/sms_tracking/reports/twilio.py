"""Adapters for Twilio's three landing formats: Message JSON, status callbacks and the Fivetran table export.

All three describe the same Message resource, so they share one mapping to :class:`Report`
(outbound) or :class:`Inbound` (``direction=inbound`` or status ``received``/``receiving``).
Input that cannot be read becomes a :class:`Reject` naming the field and value: an adapter never
raises on bad input, and every non-blank line yields at least one record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from sms_tracking.reports.base import (
    Inbound,
    ParseContext,
    Record,
    Reject,
    Report,
    as_utc,
    parse_compact_date,
)
from sms_tracking.reports.fields import (
    FieldError,
    LineFeed,
    count_value,
    decimal_value,
    json_objects,
    optional_text,
)

_INBOUND_STATUSES = frozenset({"received", "receiving"})

_CSV_RENAMES = {"id": "sid", "updated_at": "date_updated", "created_at": "date_created"}
"""Fivetran's column names that differ from the REST API's field names."""

_CSV_REQUIRED = ("id", "status")


def parse_json(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> Iterator[Record]:
    """Read one JSON value per line (format ``twilio_json``).

    A line is a Message resource as the REST API returns it, a list page ``{"messages": [...]}``
    (one record per message, all at the line's position), an Airbyte record envelope
    ``{"stream": "messages", "data": {...}}`` (also inside an Airbyte protocol message
    ``{"type": "RECORD", "record": {...}}``), or the test-fixture form ``{"message": {...}}``
    in which the Twilio API examples of ``tests/samples`` are stored.
    """
    for item in json_objects(lines):
        if isinstance(item, Reject):
            yield item
        else:
            yield from _json_line(*item, ctx)


def parse_callback(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> Iterator[Record]:
    """Read one form-encoded status callback per line (format ``twilio_callback``).

    Twilio adds callback parameters without notice, so unknown keys are ignored. ``MessageSid`` and
    ``MessageStatus`` fall back to their legacy ``SmsSid`` and ``SmsStatus``; ``RawDlrDoneDate`` is
    the carrier's zone-less ``YYMMDDhhmm`` done date, read in the source's time zone.
    """
    for position, line in lines:
        text = line.strip()
        if not text:
            continue
        yield _callback_record(form_fields(text.removeprefix("?")), position, line, ctx)


def form_fields(text: str) -> dict[str, str]:
    """The non-blank fields of a form-encoded body, the first of a repeated name winning: what
    ``parse_qsl(text, keep_blank_values=True)`` reads, without its cost for fields that need no decoding
    (most of a callback's: it took two thirds of the parsing time)."""
    fields: dict[str, str] = {}
    for pair in text.split("&"):
        key, _, value = pair.partition("=")
        if "%" in value or "+" in value:
            value = _decoded(value)
        value = value.strip()
        if value:
            if "%" in key or "+" in key:
                key = _decoded(key)
            fields.setdefault(key.strip(), value)
    return fields


@lru_cache(maxsize=1 << 16)
def _decoded(text: str) -> str:
    """A form-encoded value decoded; cached: the sender and most numbers recur from callback to callback."""
    return unquote(text.replace("+", " "))


def parse_csv(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> Iterator[Record]:
    """Read Fivetran's Twilio ``message`` table export (format ``twilio_csv``).

    The first non-blank line is the header: columns are mapped by name, so extra or missing optional
    columns do not matter; ``id`` and ``status`` are required. A quoted field may span lines; a row
    that spans lines but does not parse is retried line by line, so one stray quote costs one line.
    """
    feed = LineFeed(iter(lines))
    header: list[str] | None = None
    header_problem: str | None = None
    while (row := feed.next_row()) is not None:
        taken, fields, error = row
        position, raw = taken[0][0], "\n".join(text for _, text in taken)
        if len(taken) == 1 and not raw.strip():
            continue
        expected = len(fields) if header is None else len(header)
        if len(taken) > 1 and (error is not None or feed.capped or len(fields) != expected):
            feed.retry_singly(taken)
        elif error is not None:
            yield Reject(position, raw, f"unreadable CSV row: {error}")
        elif header is None:
            header = [name.removeprefix("\ufeff").strip().lower() for name in fields]
            missing = [name for name in _CSV_REQUIRED if name not in header]
            if missing:
                header_problem = f"header has no {', '.join(missing)} column"
                yield Reject(position, raw, header_problem)
        elif header_problem is not None:
            yield Reject(position, raw, header_problem)
        elif len(fields) != expected:
            yield Reject(position, raw, f"row has {len(fields)} fields, header has {expected}")
        else:
            yield _csv_record(dict(zip(header, fields, strict=True)), position, raw, ctx)


def _json_line(position: int, line: str, value: dict[str, Any], ctx: ParseContext) -> Iterator[Record]:
    """Unwrap the list page, Airbyte and fixture forms down to Message resources."""
    if value.get("type") == "RECORD" and isinstance(value.get("record"), dict):
        value = value["record"]
    if "messages" in value:
        messages = value["messages"]
        if not isinstance(messages, list):
            yield Reject(position, line, f"messages is a {type(messages).__name__}, not a list")
        elif not messages:
            yield Reject(position, line, "list page holds no messages")
        for item in messages if isinstance(messages, list) else ():
            raw = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
            yield _object_record(item, position, raw, ctx)
    elif "stream" in value and "data" in value:
        if value["stream"] != "messages":
            yield Reject(position, line, f"Airbyte record of stream {value['stream']!r}, not 'messages'")
        else:
            yield _object_record(value["data"], position, line, ctx)
    elif isinstance(value.get("message"), dict) and "sid" not in value:
        yield _object_record(value["message"], position, line, ctx)
    else:
        yield _object_record(value, position, line, ctx)


def _object_record(message: Any, position: int, raw: str, ctx: ParseContext) -> Record:
    """Map one Message resource, rejecting anything that is not an object."""
    if not isinstance(message, dict):
        return Reject(position, raw, f"expected a Message object, got {type(message).__name__}")
    return _message_record(message, position, raw, ctx)


def _csv_record(row: dict[str, str], position: int, raw: str, ctx: ParseContext) -> Record:
    """Rename Fivetran's columns to the API's field names; an empty cell is an absent value."""
    message = {_CSV_RENAMES.get(name, name): value if value.strip() else None for name, value in row.items()}
    for name in _CSV_REQUIRED:
        if message[_CSV_RENAMES.get(name, name)] is None:
            return Reject(position, raw, f"missing {name}")
    return _message_record(message, position, raw, ctx)


def _message_record(message: Mapping[str, Any], position: int, raw: str, ctx: ParseContext) -> Record:
    """Map a Message resource (API field names) to a Report, or an Inbound for a received message."""
    try:
        sid = _required_text(message, "sid")
        status = _required_text(message, "status").lower()
        direction = optional_text(message, "direction")
        if status in _INBOUND_STATUSES or (direction or "").lower() == "inbound":
            phone = optional_text(message, "from")
            if phone is None:
                return Reject(position, raw, f"inbound message {sid} has no from")
            received_at = _date(message, "date_sent", ctx.tz) or _date(message, "date_created", ctx.tz)
            return Inbound(
                provider=ctx.provider,
                provider_message_id=sid,
                phone=phone,
                recipient=optional_text(message, "to"),
                text=_body(message),
                received_at=received_at,
                position=position,
                price=_price(message),
                price_unit=optional_text(message, "price_unit"),
                error_code=_error_code(message.get("error_code")),
            )
        return Report(
            provider=ctx.provider,
            provider_message_id=sid,
            raw_status=status,
            raw_error=_error_code(message.get("error_code")),
            event_at=_date(message, "date_updated", ctx.tz),
            position=position,
            raw_text=raw,
            submitted_at=_date(message, "date_sent", ctx.tz) or _date(message, "date_created", ctx.tz),
            phone=optional_text(message, "to"),
            sender=optional_text(message, "from"),
            segments=_segments(message),
            price=_price(message),
            price_unit=optional_text(message, "price_unit"),
            delivery_key=optional_text(message, ctx.delivery_field) if ctx.delivery_field else None,
        )
    except FieldError as exc:
        return Reject(position, raw, str(exc))


def _callback_record(fields: Mapping[str, str], position: int, raw: str, ctx: ParseContext) -> Record:
    """Map a status callback's parameters to a Report (or an Inbound for an incoming-message webhook)."""
    sid = fields.get("MessageSid") or fields.get("SmsSid")
    status = fields.get("MessageStatus") or fields.get("SmsStatus")
    if sid is None:
        return Reject(position, raw, "missing MessageSid (and SmsSid)")
    if status is None:
        return Reject(position, raw, "missing MessageStatus (and SmsStatus)")
    status = status.lower()
    if status in _INBOUND_STATUSES:
        if "From" not in fields:
            return Reject(position, raw, f"inbound message {sid} has no From")
        return Inbound(
            provider=ctx.provider,
            provider_message_id=sid,
            phone=fields["From"],
            recipient=fields.get("To"),
            text=fields.get("Body", ""),
            received_at=None,
            position=position,
        )
    done = fields.get("RawDlrDoneDate")
    try:
        event_at = parse_compact_date(done, ctx.tz)
    except ValueError as exc:
        return Reject(position, raw, f"RawDlrDoneDate: {exc}")
    return Report(
        provider=ctx.provider,
        provider_message_id=sid,
        raw_status=status,
        raw_error=fields.get("ErrorCode"),
        event_at=event_at,
        position=position,
        raw_text=raw,
        phone=fields.get("To"),
        sender=fields.get("From"),
    )


def _required_text(message: Mapping[str, Any], name: str) -> str:
    """A field the record cannot do without."""
    text = optional_text(message, name)
    if text is None:
        raise FieldError(f"missing {name}")
    return text


def _body(message: Mapping[str, Any]) -> str:
    """The message text exactly as sent (not stripped: whitespace can matter in a reply)."""
    value = message.get("body")
    return value if isinstance(value, str) else ""


def _error_code(value: Any) -> str | None:
    """Twilio's error code as text: an integer in the API, a string in exports, null when none."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def _segments(message: Mapping[str, Any]) -> int | None:
    """``num_segments``: a string in the REST API, a number in Airbyte and Fivetran (no upper bound here)."""
    return count_value(message.get("num_segments"), "num_segments", limit=None)


def _price(message: Mapping[str, Any]) -> Decimal | None:
    """``price``: Twilio reports a cost as a negative amount; we store its absolute value."""
    number = decimal_value(message.get("price"), "price")
    return None if number is None else abs(number)


def _date(message: Mapping[str, Any], name: str, tz: ZoneInfo) -> datetime | None:
    """A date field in UTC; None when absent. Naive values are read in the source's zone."""
    value = message.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise FieldError(f"{name} {value!r} is not a date string")
    parsed = _parse_date_text(value, tz)
    if parsed is None:
        raise FieldError(f"{name} {value!r} is not an RFC 2822 or ISO-8601 date")
    return parsed


def _parse_date_text(value: str, tz: ZoneInfo) -> datetime | None:
    """Read the date forms Twilio data comes in, in UTC; None when the text is not a date.

    RFC 2822 from the REST API (``Thu, 30 Jul 2015 20:12:33 +0000``), ISO-8601 with ``Z`` or an
    offset from Airbyte, and Fivetran's ``2023-05-09 23:17:40.768000 UTC``.
    """
    text = value.strip()
    if (rest := _API_DATE.fullmatch(text)) is not None:
        day, month, year, hour, minute, second = rest.groups()
        try:
            return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=UTC)
        except ValueError:
            pass  # not a calendar date: the general reading says so
    explicit_utc = text.endswith(" UTC")
    if explicit_utc:
        text = text.removesuffix(" UTC").rstrip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        if explicit_utc:
            return None
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if explicit_utc:
        if parsed.tzinfo is not None:
            return None
        return parsed.replace(tzinfo=UTC)
    return as_utc(parsed, tz)


_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_API_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (" + "|".join(_MONTHS) + r") ([1-9]\d\d\d) (\d\d):(\d\d):(\d\d) \+0000"
)
"""The REST API's own form of a date, read by hand: what ``parsedate_to_datetime`` gives for it, at a tenth of its
cost (it came after a failed ``fromisoformat``; the two took half of a Message's reading, issue 19)."""
