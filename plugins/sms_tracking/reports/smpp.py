"""Adapter for the ``smpp`` report format: SMPP 3.4 delivery receipts, one per line.

A line is one of three shapes (see docs/input-contract.md), recognised by its first character:

* a JSON object (``{...}``): the receipt text in ``short_message`` beside its TLVs, ``esm_class``
  and addresses, as an SMPP gateway logs a DELIVER_SM;
* a hex dump (only hex digits and whitespace): a whole ``deliver_sm`` PDU, decoded by
  :mod:`sms_tracking.reports.smpp_pdu`;
* anything else: the plain Appendix B receipt text
  (``id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…``).

Rules, in the words of the SMPP libraries we follow (jasmin, python-smpplib):

* TLVs win over the text: ``receipted_message_id`` gives the id and ``message_state`` the status
  (1-8 mapped to the ``stat:`` words). A receipt with both TLVs needs no text at all (Sicap MMG).
  ``network_error_code`` is only used when the text has no ``err:``.
* A DELIVER_SM whose ``esm_class`` message type (mask 0x3C) is not a receipt (0x04 SMSC receipt,
  0x08 SME ack, 0x20 intermediate notification) is a mobile-originated message: it becomes an
  :class:`Inbound`, never a :class:`Report`. A JSON line without ``esm_class`` is read as a receipt.
* The receipt's phone is the handset: the PDU's ``source_addr``; the sender is ``destination_addr``.
* Dates have no zone and are read in the source's zone (``ctx.tz``), stored in UTC. Besides the
  10/12/14-digit forms of :func:`parse_compact_date`, a 12-digit date that is not a valid
  ``YYMMDDhhmmss`` is read as ``YYYYMMDDhhmm`` (jasmin issue #195); a valid ``YYMMDDhhmmss`` wins.
* ``ctx.options["id_format"]`` converts the receipt id to the format of the submit_sm_resp id:
  ``hex_to_decimal`` or ``decimal_to_hex`` (lower-case hex); absent / ``as_is`` keeps it.
  An unknown value is a configuration error and raises :class:`ValueError` before any line is read.

Every line that is not blank yields exactly one record; a line that cannot be read is a
:class:`Reject` whose reason names the field and the value. Lines that are empty after stripping
whitespace are skipped without a record: they carry nothing to report or reject. ``raw_text`` of a
report is the original line (the receipt text, the JSON or the hex dump) so it can be read again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
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
from sms_tracking.reports.smpp_pdu import (
    ESM_CLASS_RECEIPT_TYPES,
    ESM_CLASS_TYPE_MASK,
    ESM_CLASS_UDHI,
    DeliverSm,
    PduError,
    decode_deliver_sm,
    decode_text,
    decode_user_text,
    hex_to_bytes,
)

MESSAGE_STATES: dict[int, str] = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
"""SMPP 3.4 message_state values (§5.2.28) and the ``stat:`` word of Appendix B for each."""

_STATE_NAMES: dict[str, int] = {
    "ENROUTE": 1,
    "DELIVERED": 2,
    "EXPIRED": 3,
    "DELETED": 4,
    "UNDELIVERABLE": 5,
    "ACCEPTED": 6,
    "UNKNOWN": 7,
    "REJECTED": 8,
} | {stat: value for value, stat in MESSAGE_STATES.items()}

ID_FORMATS = ("as_is", "hex_to_decimal", "decimal_to_hex")
"""Values of ``ctx.options["id_format"]``: how the receipt id is turned into the submit id."""

_FIELD = re.compile(
    r"(?<!\S)(?P<name>id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|err)[ ]?:(?P<value>\S*)",
    re.IGNORECASE,
)
_TEXT_FIELD = re.compile(r"(?<!\S)text:", re.IGNORECASE)
_LABEL_LIKE = re.compile(r"(?<!\S)[A-Za-z][A-Za-z_]*:\S*")
"""A ``label:value`` token, once the fields are taken out: a field whose label is not one (``eror:005``)."""
UNREAD_ERROR_CODE = "UNREADABLE"
"""The error code of a receipt whose ``err:`` could not be read: its own qualification row, to qualify."""
_CANONICAL = re.compile(
    r"id:(\S*) sub:(\S*) dlvrd:(\S*) submit date:(\S*) done date:(\S*) stat:(\S*) err:(\S*)(?: text:(.*))?",
    re.IGNORECASE | re.DOTALL,
)
"""Appendix B's own layout, what most SMSCs send: read in one match, the general loop being the fallback."""
_HEX_LINE = re.compile(r"[0-9A-Fa-f\s]+")
_HEX_ID = re.compile(r"(?:0[xX])?(?P<digits>[0-9A-Fa-f]+)")
_STATE_TEXT = re.compile(r"(?:[A-Za-z_]+\.)?(?P<name>[A-Za-z_]+)?\s*(?:\(\s*(?P<number>\d+)\s*\))?")


class _Invalid(Exception):
    """Internal: the line cannot be read; the message is the reject reason."""


@dataclass(slots=True)  # not frozen: made once per receipt, and a frozen __init__ costs 2.7x (see Report)
class ReceiptFields:
    """The ``name:value`` fields of an Appendix B receipt text, as written (None when absent or empty).

    ``text`` is everything after ``text:`` (it may hold spaces, control characters or ``MCC=…``);
    it is ``""`` when the field is present but empty and None when there is no ``text:`` at all.
    """

    id: str | None = None
    sub: str | None = None
    dlvrd: str | None = None
    submit_date: str | None = None
    done_date: str | None = None
    stat: str | None = None
    err: str | None = None
    text: str | None = None
    unread: tuple[str, ...] = ()
    """Tokens before ``text:`` that look like a ``label:value`` field but name none (``eror:005``)."""

    @property
    def is_receipt(self) -> bool:
        """The receipt grammar needs at least an id and a status."""
        return self.id is not None and self.stat is not None


def parse_receipt_text(text: str) -> ReceiptFields:
    """Split an Appendix B receipt text into its fields; names are case-insensitive, any may be missing.

    Fields may come in any order. ``text:`` is the last field by the spec, and a field found before it
    wins; a field missing there is looked for after it (some SMSCs write ``text:`` earlier), and the text
    then ends where that field starts. The first occurrence of a field wins. A token before ``text:`` that
    looks like a field but names none (a misspelt label) is kept in ``unread``, for the report's warning.
    """
    text = text.rstrip("\r\n\x00")
    canonical = _CANONICAL.fullmatch(text)
    if canonical is not None:
        id_, sub, dlvrd, submit_date, done_date, stat, err, rest = canonical.groups()
        return ReceiptFields(
            id=id_ or None,
            sub=sub or None,
            dlvrd=dlvrd or None,
            submit_date=submit_date or None,
            done_date=done_date or None,
            stat=stat or None,
            err=err or None,
            text=rest,
        )
    marker = _TEXT_FIELD.search(text)
    head = text if marker is None else text[: marker.start()]
    values: dict[str, str | None] = {}
    for match in _FIELD.finditer(head):
        values.setdefault(_field_name(match), match["value"] or None)
    rest = None if marker is None else text[marker.end() :]
    if rest is not None:
        after = [match for match in _FIELD.finditer(rest) if _field_name(match) not in values]
        for match in after:
            values.setdefault(_field_name(match), match["value"] or None)
        if after:
            rest = rest[: after[0].start()].rstrip(" ")
    return ReceiptFields(
        id=values.get("id"),
        sub=values.get("sub"),
        dlvrd=values.get("dlvrd"),
        submit_date=values.get("submitdate"),
        done_date=values.get("donedate"),
        stat=values.get("stat"),
        err=values.get("err"),
        text=rest,
        unread=tuple(_LABEL_LIKE.findall(_FIELD.sub(" ", head))),
    )


def _field_name(match: re.Match[str]) -> str:
    return match["name"].lower().replace(" ", "").replace("_", "")


def message_state_to_stat(value: object) -> str | None:
    """The ``stat:`` word of a message_state TLV given as 2, "2", "DELIVERED", "DELIVERED(2)" or "DELIVRD".

    When a name and a number disagree the number (the wire value) wins. None when not a 1-8 state.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return MESSAGE_STATES.get(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return MESSAGE_STATES.get(int(text))
    match = _STATE_TEXT.fullmatch(text)
    if match is None:
        return None
    if match["number"] is not None and int(match["number"]) in MESSAGE_STATES:
        return MESSAGE_STATES[int(match["number"])]
    if match["name"] is not None:
        return MESSAGE_STATES.get(_STATE_NAMES.get(match["name"].upper(), 0))
    return None


def convert_id(message_id: str, id_format: str | None) -> str:
    """Turn a receipt id into the submit_sm_resp format (jasmin: SMSCs mix hex and decimal ids).

    ``hex_to_decimal``: ``"6aad5"`` -> ``"436949"``; ``decimal_to_hex``: ``"0000436949"`` -> ``"6aad5"``.
    Raises ValueError when the id is not a number in the expected base.
    """
    if id_format in (None, "", "as_is"):
        return message_id
    if id_format == "hex_to_decimal":
        match = _HEX_ID.fullmatch(message_id)
        if match is None:
            raise ValueError(f"id {message_id!r} is not a hexadecimal number (id_format=hex_to_decimal)")
        return str(int(match["digits"], 16))
    if id_format == "decimal_to_hex":
        if not (message_id.isascii() and message_id.isdigit()):
            raise ValueError(f"id {message_id!r} is not a decimal number (id_format=decimal_to_hex)")
        return format(int(message_id), "x")
    raise ValueError(f"unknown id_format {id_format!r}; expected one of {', '.join(ID_FORMATS)}")


def parse_receipt_date(value: str | None, tz: ZoneInfo) -> datetime | None:
    """:func:`parse_compact_date`, plus 12-digit ``YYYYMMDDhhmm`` when it is not a valid ``YYMMDDhhmmss``."""
    try:
        return parse_compact_date(value, tz)
    except ValueError:
        text = (value or "").strip()
        if len(text) != 12 or not (text.isascii() and text.isdigit()):
            raise
        try:
            naive = datetime.strptime(text, "%Y%m%d%H%M")
        except ValueError:
            raise ValueError(f"date {text!r} is neither a valid YYMMDDhhmmss nor a valid YYYYMMDDhhmm") from None
        return naive.replace(tzinfo=tz).astimezone(UTC)


def parse(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> Iterator[Record]:
    """Read ``(position, line)`` pairs of an ``smpp`` source: one record per non-blank line."""
    id_format = ctx.options.get("id_format") or None
    if id_format is not None and id_format not in ID_FORMATS:
        raise ValueError(
            f"source {ctx.source!r}: unknown id_format {id_format!r}; expected one of {', '.join(ID_FORMATS)}"
        )
    for position, line in lines:
        raw = line.rstrip("\r\n")
        text = raw.removeprefix("\ufeff")
        content = text.strip()
        if not content:
            continue
        try:
            yield _parse_line(position, raw, text, content, ctx, id_format)
        except _Invalid as exc:
            yield Reject(position, raw, str(exc))
        except Exception as exc:
            yield Reject(position, raw, f"unexpected error reading the line: {type(exc).__name__}: {exc}")


def _parse_line(position: int, raw: str, text: str, content: str, ctx: ParseContext, id_format: str | None) -> Record:
    """Dispatch on the shape of the line (JSON, hex dump, receipt text)."""
    if content.startswith("{"):
        return _parse_json(position, raw, content, ctx, id_format)
    if _HEX_LINE.fullmatch(content):
        return _parse_pdu(position, raw, content, ctx, id_format)
    fields = parse_receipt_text(text)
    if fields.id is None and fields.stat is None:
        raise _Invalid("not an SMPP receipt: no 'id:' and no 'stat:' field")
    return _report(position, raw, fields, ctx, id_format)


def _parse_pdu(position: int, raw: str, content: str, ctx: ParseContext, id_format: str | None) -> Record:
    """A hex dump of a deliver_sm: a receipt or, by its esm_class, a mobile-originated message."""
    try:
        pdu = decode_deliver_sm(hex_to_bytes(content))
    except PduError as exc:
        raise _Invalid(f"bad deliver_sm PDU: {exc}") from None
    if not pdu.is_receipt:
        body = pdu.user_data
        if pdu.esm_class & ESM_CLASS_UDHI and pdu.short_message and 1 + body[0] <= len(body):
            body = body[1 + body[0] :]
        return _inbound(
            position,
            phone=pdu.source_addr,
            recipient=pdu.destination_addr,
            text=decode_user_text(body, pdu.data_coding).rstrip("\x00"),
            received_at=None,
            esm_class=pdu.esm_class,
            ctx=ctx,
        )
    error = pdu.network_error_code
    return _report(
        position,
        raw,
        _pdu_receipt_fields(pdu),
        ctx,
        id_format,
        tlv_id=pdu.receipted_message_id,
        tlv_state=pdu.message_state,
        tlv_err=None if error is None else error.text,
        phone=pdu.source_addr or None,
        sender=pdu.destination_addr or None,
    )


def _pdu_receipt_fields(pdu: DeliverSm) -> ReceiptFields:
    """The receipt text of a PDU (short_message or message_payload); UCS-2 tried if plain reading fails."""
    data = pdu.user_data
    fields = parse_receipt_text(decode_text(data))
    if not fields.is_receipt and pdu.data_coding == 0x08 and len(data) % 2 == 0:
        wide = parse_receipt_text(decode_user_text(data, pdu.data_coding))
        if wide.is_receipt:
            return wide
    return fields


def _parse_json(position: int, raw: str, content: str, ctx: ParseContext, id_format: str | None) -> Record:
    """A DELIVER_SM logged as JSON: short_message, tlvs, esm_class, addresses, received_at."""
    try:
        obj = json.loads(content)
    except json.JSONDecodeError as exc:
        raise _Invalid(f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise _Invalid(f"JSON line is a {type(obj).__name__}, not an object")
    short_message = obj.get("short_message")
    if short_message is None:
        short_message = ""
    if not isinstance(short_message, str):
        raise _Invalid(f"short_message {short_message!r} is not a string")
    tlvs = obj.get("tlvs")
    if tlvs is None:
        tlvs = {}
    if not isinstance(tlvs, dict):
        raise _Invalid(f"tlvs {tlvs!r} is not an object")
    esm_class = _json_esm_class(obj.get("esm_class"))
    source_addr = _json_str(obj, "source_addr")
    destination_addr = _json_str(obj, "destination_addr")
    received_at = _json_received_at(obj.get("received_at"), ctx.tz)
    if esm_class is not None and (esm_class & ESM_CLASS_TYPE_MASK) not in ESM_CLASS_RECEIPT_TYPES:
        return _inbound(
            position,
            phone=source_addr or "",
            recipient=destination_addr or "",
            text=short_message.rstrip("\x00"),
            received_at=received_at,
            esm_class=esm_class,
            ctx=ctx,
        )
    return _report(
        position,
        raw,
        parse_receipt_text(short_message),
        ctx,
        id_format,
        tlv_id=_json_str(tlvs, "receipted_message_id", "tlvs."),
        tlv_state=tlvs.get("message_state") if tlvs.get("message_state") != "" else None,
        tlv_err=_json_str(tlvs, "network_error_code", "tlvs."),
        phone=source_addr,
        sender=destination_addr,
        received_at=received_at,
    )


def _json_esm_class(value: object) -> int | None:
    """esm_class as an int (``4``, ``"4"``, ``"0x04"``); None when absent."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        result = value
    elif isinstance(value, str):
        try:
            result = int(value.strip(), 0)
        except ValueError:
            raise _Invalid(f"esm_class {value!r} is not a number") from None
    else:
        raise _Invalid(f"esm_class {value!r} is not a number")
    if not 0 <= result <= 0xFF:
        raise _Invalid(f"esm_class {value!r} is not an octet (0-255)")
    return result


def _json_str(obj: Mapping[str, object], key: str, prefix: str = "") -> str | None:
    """An optional text field (numbers accepted, as gateways log numeric ids and addresses); stripped."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Invalid(f"{prefix}{key} {value!r} is not a string")
    return str(value).strip().rstrip("\x00") or None


def _json_received_at(value: object, tz: ZoneInfo) -> datetime | None:
    """received_at is ISO-8601; without an offset it is read in the source's zone."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Invalid(f"received_at {value!r} is not an ISO-8601 string")
    try:
        return as_utc(datetime.fromisoformat(value.strip()), tz)
    except ValueError:
        raise _Invalid(f"received_at {value!r} is not an ISO-8601 timestamp") from None


def _inbound(
    position: int,
    *,
    phone: str,
    recipient: str,
    text: str,
    received_at: datetime | None,
    esm_class: int,
    ctx: ParseContext,
) -> Inbound:
    """A mobile-originated message: the handset (source_addr) wrote to our number (destination_addr)."""
    if not phone.strip():
        raise _Invalid(f"mobile-originated message (esm_class 0x{esm_class:02X}) has no source_addr")
    return Inbound(
        provider=ctx.provider,
        provider_message_id=None,
        phone=phone.strip(),
        recipient=recipient.strip() or None,
        text=text,
        received_at=received_at,
        position=position,
    )


def _report(
    position: int,
    raw: str,
    fields: ReceiptFields,
    ctx: ParseContext,
    id_format: str | None,
    *,
    tlv_id: str | None = None,
    tlv_state: object = None,
    tlv_err: str | None = None,
    phone: str | None = None,
    sender: str | None = None,
    received_at: datetime | None = None,
) -> Report:
    """Merge TLVs (first) and text fields into a Report; raise :class:`_Invalid` naming what is wrong."""
    message_id = tlv_id or (fields.id.strip() if fields.id else None)
    if not message_id:
        raise _Invalid("missing id: no receipted_message_id TLV and no 'id:' field in the receipt text")

    status = None if tlv_state is None else message_state_to_stat(tlv_state)
    if status is None and fields.stat:
        status = fields.stat.strip().upper()
    if status is None:
        if tlv_state is not None:
            raise _Invalid(
                f"missing stat: message_state TLV {tlv_state!r} is not an SMPP 3.4 state (1-8) "
                f"and the receipt text has no 'stat:' field (id {message_id!r})"
            )
        raise _Invalid(f"missing stat: no message_state TLV and no 'stat:' field (id {message_id!r})")

    if id_format is not None:
        try:
            message_id = convert_id(message_id, id_format)
        except ValueError as exc:
            raise _Invalid(str(exc)) from None

    submitted_at = _receipt_date("submit date", fields.submit_date, ctx.tz)
    done_at = _receipt_date("done date", fields.done_date, ctx.tz)
    sub = fields.sub
    raw_error = fields.err or tlv_err or None
    warning = None
    if fields.unread:
        missing = [
            name
            for name, value in (
                ("sub", fields.sub),
                ("dlvrd", fields.dlvrd),
                ("submit date", fields.submit_date),
                ("done date", fields.done_date),
                ("err", raw_error),
            )
            if value is None
        ]
        warning = f"could not read {', '.join(repr(token) for token in fields.unread)}" + (
            f"; missing {', '.join(missing)}" if missing else ""
        )
    return Report(
        provider=ctx.provider,
        provider_message_id=message_id,
        raw_status=status,
        # An error code that could not be read is not "no code": the report must not be typed silently by
        # its status's wildcard row, so it gets a code of its own, which the build adds to qualify.
        raw_error=raw_error if raw_error is not None or warning is None else UNREAD_ERROR_CODE,
        parse_warning=warning,
        event_at=done_at if done_at is not None else received_at,
        position=position,
        raw_text=raw,
        submitted_at=submitted_at,
        phone=phone,
        sender=sender,
        segments=int(sub) if sub is not None and sub.isascii() and sub.isdigit() else None,
    )


def _receipt_date(name: str, value: str | None, tz: ZoneInfo) -> datetime | None:
    """A receipt date or :class:`_Invalid` naming the field and the value."""
    try:
        return parse_compact_date(value, tz)  # cached: what parse_receipt_date reads first
    except ValueError:
        pass
    try:
        return parse_receipt_date(value, tz)
    except ValueError as exc:
        raise _Invalid(f"bad {name} {value!r}: {exc}") from None
