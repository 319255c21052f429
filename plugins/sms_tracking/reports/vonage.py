"""Adapters for Vonage (ex-Nexmo) SMS API delivery receipts: JSON bodies and query strings.

Vonage POSTs (JSON or form) or GETs (query string) one delivery receipt per call to the webhook, with
the same hyphenated keys in every form and every value a string (``msisdn``, ``to``,
``network-code``, ``messageId``, ``price``, ``status``, ``scts``, ``err-code``, ``api-key``,
``client-ref``, ``message-timestamp``). A webhook log keeps one call per line, so the two formats
differ only in how a line is split into keys:

* ``vonage_json``: a JSON object per line; numbers are accepted where Vonage writes strings.
* ``vonage_query``: a query string per line (``msisdn=...&messageId=...&err-code=...``), an optional
  leading ``?`` ignored.

Mapping: ``messageId`` is the id (the ``message-id`` Vonage returned on submit), ``status`` the
lower-case raw status, ``err-code`` the raw error, ``msisdn`` the handset, ``to`` our sender id,
``price`` the price, in ``EUR`` (the currency Vonage bills in) unless the source sets the option
``price_unit``. ``scts`` is the carrier's zone-less ``YYMMDDhhmm`` done date, read in the source's
time zone. Without ``scts`` the event time is ``message-timestamp`` (``YYYY-MM-DD hh:mm:ss``, UTC per
Vonage's docs), the time Vonage pushed the receipt.

An inbound-SMS webhook (it has ``text``/``type`` and no ``status``) becomes an :class:`Inbound`.
A line that cannot be read is a :class:`Reject` naming the field and the value: an adapter never
raises on bad input, and every non-blank line yields exactly one record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from sms_tracking.reports.base import (
    Inbound,
    ParseContext,
    Record,
    Reject,
    Report,
    parse_compact_date,
)
from sms_tracking.reports.fields import FieldError, iso_date, json_objects, optional_text, price_value

DEFAULT_PRICE_UNIT = "EUR"
"""Vonage bills in euros; a source billed otherwise sets ``options: {price_unit: USD}``."""

_UTC = ZoneInfo("UTC")
_INBOUND_KEYS = ("text", "type")


def parse_json(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> Iterator[Record]:
    """Read one webhook JSON body per line (format ``vonage_json``)."""
    for item in json_objects(lines):
        if isinstance(item, Reject):
            yield item
        else:
            position, line, value = item
            yield _record(value, position, line, ctx)


def parse_query(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> Iterator[Record]:
    """Read one webhook query string per line (format ``vonage_query``); the first of a repeated key wins."""
    for position, line in lines:
        text = line.strip()
        if not text:
            continue
        fields: dict[str, str] = {}
        for key, value in parse_qsl(text.removeprefix("?"), keep_blank_values=True):
            fields.setdefault(key.strip(), value)
        yield _record(fields, position, line, ctx)


def _record(fields: Mapping[str, Any], position: int, raw: str, ctx: ParseContext) -> Record:
    """Map one webhook's keys to a Report, or an Inbound for an inbound-SMS webhook."""
    try:
        status = optional_text(fields, "status")
        if status is None and any(key in fields for key in _INBOUND_KEYS):
            return _inbound(fields, position, ctx)
        message_id = optional_text(fields, "messageId")
        if message_id is None:
            raise FieldError("missing messageId")
        if status is None:
            raise FieldError(f"missing status (messageId {message_id!r})")
        event_at = _scts(fields, ctx.tz)
        if event_at is None:
            event_at = _message_timestamp(fields)
        price = _price(fields)
        return Report(
            provider=ctx.provider,
            provider_message_id=message_id,
            raw_status=status.lower(),
            raw_error=optional_text(fields, "err-code"),
            event_at=event_at,
            position=position,
            raw_text=raw,
            phone=optional_text(fields, "msisdn"),
            sender=optional_text(fields, "to"),
            price=price,
            price_unit=None if price is None else ctx.options.get("price_unit") or DEFAULT_PRICE_UNIT,
        )
    except FieldError as exc:
        return Reject(position, raw, str(exc))


def _inbound(fields: Mapping[str, Any], position: int, ctx: ParseContext) -> Inbound:
    """An inbound SMS: ``msisdn`` (the handset) wrote to ``to`` (our number)."""
    phone = optional_text(fields, "msisdn")
    if phone is None:
        raise FieldError("inbound message has no msisdn")
    body = fields.get("text")
    return Inbound(
        provider=ctx.provider,
        provider_message_id=optional_text(fields, "messageId"),
        phone=phone,
        recipient=optional_text(fields, "to"),
        text=body if isinstance(body, str) else "",
        received_at=_message_timestamp(fields),
        position=position,
    )


def _scts(fields: Mapping[str, Any], tz: ZoneInfo) -> datetime | None:
    """``scts``: the carrier's ``YYMMDDhhmm`` done date, without a zone, read in the source's zone."""
    value = optional_text(fields, "scts")
    try:
        return parse_compact_date(value, tz)
    except ValueError as exc:
        raise FieldError(f"scts {value!r}: {exc}") from None


def _message_timestamp(fields: Mapping[str, Any]) -> datetime | None:
    """``message-timestamp``: ``YYYY-MM-DD hh:mm:ss`` in UTC (an explicit offset is kept)."""
    return iso_date(fields, "message-timestamp", _UTC, expected="a 'YYYY-MM-DD hh:mm:ss' date")


def _price(fields: Mapping[str, Any]) -> Decimal | None:
    """``price``: a decimal string (``"0.03330000"``); a float is read through its repr."""
    return price_value(fields.get("price"), "price")
