"""Adapter for Infobip SMS delivery reports (format ``infobip_json``).

A line is a webhook body ``{"results": [...]}`` as Infobip POSTs it (one record per result, all at
the line's position, each with its own result as ``raw_text``) or a single result object, as a
report-pulling job may write them.

Mapping of a delivery report result: ``messageId`` is the id, ``status.name`` the raw status
(``DELIVERED_TO_HANDSET``, ...), ``error.name`` the raw error (``EC_ABSENT_SUBSCRIBER``, ...; None
for ``NO_ERROR``, error id 0), ``doneAt`` the event time, ``sentAt`` the submit time (ISO-8601 with
an offset such as ``+05:30`` or ``+0000``; read in the source's zone when it has none),
``to`` the handset, ``sender`` (or ``from``) our sender id, ``smsCount`` (or ``messageCount``) the
segments and ``price.pricePerMessage`` / ``price.currency`` the price.

The error's ``permanent`` flag is not read: qualification goes by the error name, and a name the seed
does not list falls back to the ``(status, *)`` row (see docs/qualification.md). The flag stays in
``raw_text`` as the hint for whoever qualifies the new name.

A result with ``text``/``cleanText``/``receivedAt`` and no ``status`` is an inbound SMS and becomes
an :class:`Inbound`. A result without ``messageId``, such as a number-context (HLR) lookup result,
is a :class:`Reject` naming what is missing: an adapter never raises on bad input, and every
non-blank line yields at least one record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from sms_tracking.reports.base import Inbound, ParseContext, Record, Reject, Report
from sms_tracking.reports.fields import FieldError, count_value, iso_date, json_objects, optional_text, price_value

NO_ERROR = "NO_ERROR"
"""Infobip's error name for "no error" (group 0 OK, id 0): stored as no error at all."""

_INBOUND_KEYS = ("text", "cleanText", "receivedAt")
_LOOKUP_KEYS = ("mccMnc", "originalNetwork", "ported", "roaming")
"""Keys of a number-context (HLR) lookup result, which shares the status/error objects of a report."""


def parse_json(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> Iterator[Record]:
    """Read one webhook body or one result object per line."""
    for item in json_objects(lines):
        if isinstance(item, Reject):
            yield item
        else:
            yield from _json_line(*item, ctx)


def _json_line(position: int, line: str, value: dict[str, Any], ctx: ParseContext) -> Iterator[Record]:
    """Unwrap a webhook body into its results."""
    if "results" not in value:
        yield _result(value, position, line, ctx)
        return
    results = value["results"]
    if not isinstance(results, list):
        yield Reject(position, line, f"results is a {type(results).__name__}, not a list")
    elif not results:
        yield Reject(position, line, "webhook body holds no results")
    else:
        for item in results:
            raw = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
            yield _result(item, position, raw, ctx)


def _result(item: Any, position: int, raw: str, ctx: ParseContext) -> Record:
    """Map one result to a Report (delivery report) or an Inbound (inbound SMS)."""
    if not isinstance(item, dict):
        return Reject(position, raw, f"expected a result object, got {type(item).__name__}")
    try:
        if item.get("status") is None and any(key in item for key in _INBOUND_KEYS):
            return _inbound(item, position, ctx)
        message_id = optional_text(item, "messageId")
        if message_id is None:
            if any(key in item for key in _LOOKUP_KEYS):
                raise FieldError("missing messageId: a number-context (HLR) lookup result, not an SMS delivery report")
            raise FieldError("missing messageId")
        status = _name(item, "status")
        if status is None:
            raise FieldError(f"missing status.name (messageId {message_id!r})")
        price, currency = _price(item)
        return Report(
            provider=ctx.provider,
            provider_message_id=message_id,
            raw_status=status,
            raw_error=_error(item),
            event_at=iso_date(item, "doneAt", ctx.tz),
            position=position,
            raw_text=raw,
            submitted_at=iso_date(item, "sentAt", ctx.tz),
            phone=optional_text(item, "to"),
            sender=optional_text(item, "sender") or optional_text(item, "from"),
            segments=_segments(item),
            price=price,
            price_unit=currency,
        )
    except FieldError as exc:
        return Reject(position, raw, str(exc))


def _inbound(item: Mapping[str, Any], position: int, ctx: ParseContext) -> Inbound:
    """An inbound SMS: ``from`` (the handset) wrote ``text`` (keyword included) to ``to`` (our number)."""
    phone = optional_text(item, "from")
    if phone is None:
        raise FieldError("inbound message has no from")
    body = item.get("text")
    if not isinstance(body, str):
        body = item.get("cleanText")
    price, currency = _price(item)
    return Inbound(
        provider=ctx.provider,
        provider_message_id=optional_text(item, "messageId"),
        phone=phone,
        recipient=optional_text(item, "to"),
        text=body if isinstance(body, str) else "",
        received_at=iso_date(item, "receivedAt", ctx.tz),
        position=position,
        price=price,
        price_unit=currency,
    )


def _name(item: Mapping[str, Any], name: str) -> str | None:
    """``status.name`` / ``error.name`` in upper case, as the seed keys them; a bare string is the name."""
    value = item.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().upper() or None
    if not isinstance(value, dict):
        raise FieldError(f"{name} {value!r} is not an object")
    text = value.get("name")
    if text is None:
        return None
    if not isinstance(text, str):
        raise FieldError(f"{name}.name {text!r} is not a string")
    return text.strip().upper() or None


def _error(item: Mapping[str, Any]) -> str | None:
    """``error.name``; None for no error (``NO_ERROR`` or id 0); the id when the name is missing."""
    name = _name(item, "error")
    error = item.get("error")
    error_id = error.get("id") if isinstance(error, dict) else None
    if isinstance(error_id, bool) or not isinstance(error_id, int | str):
        error_id = None
    error_id = None if error_id is None else str(error_id).strip() or None
    if name == NO_ERROR or error_id == "0":
        return None
    return name or error_id


def _segments(item: Mapping[str, Any]) -> int | None:
    """``smsCount`` (SMS API v2), else ``messageCount`` (v3 and the messages API)."""
    if item.get("smsCount") is not None:
        return count_value(item["smsCount"], "smsCount")
    return count_value(item.get("messageCount"), "messageCount")


def _price(item: Mapping[str, Any]) -> tuple[Decimal | None, str | None]:
    """``price.pricePerMessage`` and ``price.currency``; the currency only comes with a price."""
    price = item.get("price")
    if price is None:
        return None, None
    if not isinstance(price, dict):
        raise FieldError(f"price {price!r} is not an object")
    value = price.get("pricePerMessage")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    currency = price.get("currency")
    if currency is not None and not isinstance(currency, str):
        raise FieldError(f"price.currency {currency!r} is not a string")
    return price_value(value, "price.pricePerMessage"), (currency or "").strip().upper() or None
