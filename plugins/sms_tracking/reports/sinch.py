"""Adapter for Sinch SMS REST API recipient delivery reports (format ``sinch_json``).

One callback body per line, as Sinch POSTs it when a batch is sent with
``delivery_report: per_recipient`` (or ``per_recipient_final``): ``type``
(``recipient_delivery_report_sms``), ``batch_id``, ``recipient``, ``code``, ``status``, ``at``,
``operator_status_at``, ``operator``, ``client_reference``, ``applied_originator``,
``number_of_message_parts``, ``encoding``.

Sinch identifies a message by its batch and its recipient: a batch goes to many numbers and has no
per-message id. The id is therefore ``<batch_id>:<recipient>``, and the send log must write the same
composite id (the recipient exactly as Sinch writes it in the report). ``status`` is the raw status,
with Sinch's capitalisation (``Delivered``; some SDKs write ``DELIVERED``, which is read the same),
``code`` the raw error (a number, as text), ``operator_status_at`` (else ``at``) the event time,
``applied_originator`` our sender and ``number_of_message_parts`` the segments.

An inbound message callback (``type`` ``mo_text`` or ``mo_binary``) becomes an :class:`Inbound`.
The batch summary report (``delivery_report_sms``) has no per-message event and is rejected with
that reason. An adapter never raises on bad input, and every non-blank line yields exactly one record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sms_tracking.reports.base import Inbound, ParseContext, Record, Reject, Report
from sms_tracking.reports.fields import COUNT_LIMIT, FieldError, iso_date, json_objects, optional_text

RECIPIENT_REPORT_TYPES = frozenset({"recipient_delivery_report_sms", "recipient_delivery_report_mms"})
INBOUND_TYPES = frozenset({"mo_text", "mo_binary"})
BATCH_REPORT_TYPES = frozenset({"delivery_report_sms", "delivery_report_mms"})


def message_id(batch_id: str, recipient: str) -> str:
    """The id a Sinch message is known by here: batch and recipient (the send log must use it too)."""
    return f"{batch_id}:{recipient}"


def parse_json(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> Iterator[Record]:
    """Read one callback body per line."""
    for item in json_objects(lines):
        if isinstance(item, Reject):
            yield item
            continue
        position, line, value = item
        try:
            yield _record(value, position, line, ctx)
        except FieldError as exc:
            yield Reject(position, line, str(exc))


def _record(body: Mapping[str, Any], position: int, raw: str, ctx: ParseContext) -> Record:
    """Map one callback by its ``type``; a body without ``type`` is read as a recipient report."""
    kind = optional_text(body, "type")
    if kind in INBOUND_TYPES:
        return _inbound(body, position, ctx)
    if kind in BATCH_REPORT_TYPES:
        raise FieldError(f"type {kind!r} is a batch summary, not a per-recipient report (use per_recipient)")
    if kind is not None and kind not in RECIPIENT_REPORT_TYPES:
        raise FieldError(f"type {kind!r} is not a recipient delivery report")
    batch_id = optional_text(body, "batch_id")
    recipient = optional_text(body, "recipient")
    if batch_id is None:
        raise FieldError("missing batch_id")
    if recipient is None:
        raise FieldError(f"missing recipient (batch_id {batch_id!r})")
    status = optional_text(body, "status")
    if status is None:
        raise FieldError(f"missing status (batch_id {batch_id!r}, recipient {recipient!r})")
    event_at = iso_date(body, "operator_status_at", ctx.tz)
    if event_at is None:
        event_at = iso_date(body, "at", ctx.tz)
    return Report(
        provider=ctx.provider,
        provider_message_id=message_id(batch_id, recipient),
        raw_status=status.capitalize(),
        raw_error=_code(body),
        event_at=event_at,
        position=position,
        raw_text=raw,
        phone=recipient,
        sender=optional_text(body, "applied_originator"),
        segments=_count(body, "number_of_message_parts"),
    )


def _inbound(body: Mapping[str, Any], position: int, ctx: ParseContext) -> Inbound:
    """An inbound message: ``from`` (the handset) wrote ``body`` to ``to`` (our number)."""
    phone = optional_text(body, "from")
    if phone is None:
        raise FieldError("inbound message has no from")
    text = body.get("body")
    return Inbound(
        provider=ctx.provider,
        provider_message_id=optional_text(body, "id"),
        phone=phone,
        recipient=optional_text(body, "to"),
        text=text if isinstance(text, str) else "",
        received_at=iso_date(body, "received_at", ctx.tz),
        position=position,
    )


def _code(body: Mapping[str, Any]) -> str | None:
    """``code``: a number in the callback (``0``, ``401``), kept as its decimal text."""
    value = body.get("code")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise FieldError(f"code {value!r} is not a number")
    return str(value).strip()


def _count(body: Mapping[str, Any], name: str) -> int | None:
    """A whole, non-negative count given as a number or a string of digits."""
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        number = value
    else:
        raise FieldError(f"{name} {value!r} is not a whole number")
    if number > COUNT_LIMIT:
        raise FieldError(f"{name} {value!r} is out of range")
    return number
