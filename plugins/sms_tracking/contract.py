"""Readers for the sending system's landing files (docs/input-contract.md).

Deliveries, target lists, the send log, clicks and inbound messages arrive as CSV with a header.
Each reader yields one typed record per good row and a :class:`Reject` naming the column for a bad one.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sms_tracking import segments, tracking
from sms_tracking.phone import to_e164
from sms_tracking.reports.base import Inbound, ParseContext, Reject, Report, as_utc
from sms_tracking.reports.fields import COUNT_LIMIT


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str
    name: str
    sender: str | None
    content: str
    provider: str
    created_at: datetime
    scheduled_at: datetime | None
    is_proof: bool
    # The content profile, computed here so the build and the audit never re-read the text.
    encoding: str | None = None
    content_length: int | None = None
    content_units: int | None = None
    segments_per_message: int | None = None
    segments_if_gsm7: int | None = None
    non_gsm7_characters: str | None = None
    tracked_urls: str | None = None
    """JSON list of the URLs in the content in order (position, url, label, is_opt_out); the build keeps one each."""


@dataclass(frozen=True, slots=True)
class Target:
    delivery_id: str
    recipient_id: str
    phone_raw: str | None
    phone_e164: str | None


@dataclass(frozen=True, slots=True)
class Send:
    provider: str
    provider_message_id: str
    delivery_id: str
    recipient_id: str
    phone_raw: str | None
    phone_e164: str | None
    submitted_at: datetime
    segments: int


@dataclass(frozen=True, slots=True)
class Click:
    click_key: str
    delivery_id: str
    recipient_id: str | None
    tracking_token: str | None
    url: str
    clicked_at: datetime
    user_agent: str | None
    method: str
    position: int


class BadValue(ValueError):
    """A cell that does not hold what its column needs."""


def _timestamp(row: dict[str, str], column: str, ctx: ParseContext, required: bool = True) -> datetime | None:
    value = (row.get(column) or "").strip()
    if not value:
        if required:
            raise BadValue(f"{column} is empty")
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" UTC", "+00:00"))
        # Most stamps end in Z: in UTC already, which as_utc would give back as it is.
        return parsed if parsed.tzinfo is UTC else as_utc(parsed, ctx.tz)
    except ValueError:
        raise BadValue(f"{column} {value!r} is not an ISO-8601 timestamp") from None


def _text(row: dict[str, str], column: str, required: bool = True) -> str | None:
    value = (row.get(column) or "").strip()
    if not value and required:
        raise BadValue(f"{column} is empty")
    return value or None


def _required(row: dict[str, str], column: str) -> str:
    """A required column's stripped value (the header has every required column)."""
    value = row[column].strip()
    if not value:
        raise BadValue(f"{column} is empty")
    return value


def _bool(row: dict[str, str], column: str) -> bool:
    value = (row.get(column) or "").strip().lower()
    if value in ("", "false", "0", "no", "f"):
        return False
    if value in ("true", "1", "yes", "t"):
        return True
    raise BadValue(f"{column} {value!r} is not true/false")


def _rows(
    lines: Iterable[tuple[int, str]],
    required: tuple[str, ...],
    build: Callable[[int, dict[str, str], ParseContext], tuple[Any, ...]],
    ctx: ParseContext,
) -> Iterator[tuple[Any, ...] | Reject]:
    """The values ``build`` makes of each CSV row, or the reject of the row (a bad value, a wrong field count);
    a header without a required column rejects the file. Built here, not by a caller over each row's line number,
    raw text and dict: a generator less for a million rows.

    The position is the count of lines read (blank lines are not), as the csv module's ``line_num``. A line
    without quotes is split on commas, which is what the csv module does with it; a quoted one (which may go on
    over the next lines) is read by the csv module."""
    source = iter(lines)
    fed: dict[int, str] = {}
    count = 0

    def feed() -> Iterator[str]:
        nonlocal count
        for position, line in source:
            fed[position] = line
            count += 1
            yield line

    header: list[str] | None = None
    for first, line in source:
        count += 1
        if '"' in line or "\r" in line or len(line) >= _CSV_FIELD_LIMIT:
            fed.clear()
            fed[first] = line
            fields = next(csv.reader(itertools.chain((line,), feed())))
            raw = fed.get(count, ",".join(fields))
        else:
            fields = line.split(",")
            raw = line
        position = count
        if header is None:
            header = [name.strip().lower() for name in fields]
            missing = [name for name in required if name not in header]
            if missing:
                yield Reject(position, raw, f"header lacks column(s) {', '.join(missing)}; found {', '.join(header)}")
                return
            continue
        # A row whose first cell starts with a visible character is not blank: most rows, tested at once.
        start = fields[0][:1] if fields else ""
        if (not start or start.isspace()) and not any(field.strip() for field in fields):
            continue
        if len(fields) != len(header):
            yield Reject(position, raw, f"{len(fields)} fields where the header has {len(header)}")
            continue
        try:
            built = build(position, dict(zip(header, fields, strict=True)), ctx)
        except BadValue as exc:
            yield Reject(position, raw, str(exc))
            continue
        yield built


_CSV_FIELD_LIMIT = csv.field_size_limit()
"""A longer line goes to the csv module, which refuses a field this long."""


@dataclass(frozen=True)
class Reader:
    """The reader of one landing kind: its rows as values in the order of ``record``'s fields (what the load
    stages, without a record object per row), or as records."""

    record: type
    required: tuple[str, ...]
    build: Callable[[int, dict[str, str], ParseContext], tuple[Any, ...]]

    def rows(self, lines: Iterable[tuple[int, str]], ctx: ParseContext) -> Iterator[tuple[Any, ...] | Reject]:
        return _rows(lines, self.required, self.build, ctx)

    def __call__(self, lines: Iterable[tuple[int, str]], ctx: ParseContext) -> Iterator[object]:
        for item in self.rows(lines, ctx):
            yield item if isinstance(item, Reject) else self.record(*item)


def _delivery(position: int, row: dict[str, str], ctx: ParseContext) -> tuple[Any, ...]:
    content = row.get("content") or ""
    measured = segments.profile(content)
    urls = [
        {"position": u.position, "url": u.url, "label": u.label, "is_opt_out": u.is_opt_out}
        for u in tracking.extract_urls(content)
    ]
    return (
        _required(row, "delivery_id"),
        _required(row, "name"),
        _text(row, "sender", required=False),
        content,
        _required(row, "provider").lower(),
        _timestamp(row, "created_at", ctx),
        _timestamp(row, "scheduled_at", ctx, required=False),
        _bool(row, "is_proof"),
        measured.encoding,
        measured.characters,
        measured.units,
        measured.segments,
        measured.segments_if_gsm7,
        measured.non_gsm7 or None,
        json.dumps(urls, ensure_ascii=False),
    )


def _target(position: int, row: dict[str, str], ctx: ParseContext) -> tuple[Any, ...]:
    phone = row["phone"].strip() or None
    return (
        _required(row, "delivery_id"),
        _required(row, "recipient_id"),
        phone,
        to_e164(phone, ctx.options.get("default_region")),
    )


def _send(position: int, row: dict[str, str], ctx: ParseContext) -> tuple[Any, ...]:
    phone = row["phone"].strip() or None
    segments = (row.get("segments") or "1").strip() or "1"
    # ASCII digits only ("²" is a digit to str.isdigit but not to int()), within the message column's int4.
    if not (segments.isascii() and segments.isdigit()) or (count := int(segments)) < 1:
        raise BadValue(f"segments {segments!r} is not a positive integer")
    if count > COUNT_LIMIT:
        raise BadValue(f"segments {segments} is out of range (at most {COUNT_LIMIT})")
    return (
        _required(row, "provider").lower(),
        _required(row, "provider_message_id"),
        _required(row, "delivery_id"),
        _required(row, "recipient_id"),
        phone,
        to_e164(phone, ctx.options.get("default_region")),
        _timestamp(row, "submitted_at", ctx),
        count,
    )


def _click(position: int, row: dict[str, str], ctx: ParseContext) -> tuple[Any, ...]:
    method = (_text(row, "method", required=False) or "GET").upper()
    fields = [
        row.get(c, "")
        for c in ("delivery_id", "recipient_id", "tracking_token", "url", "clicked_at", "user_agent", "method")
    ]
    return (
        hashlib.sha256("\x1f".join(fields).encode()).hexdigest(),
        _required(row, "delivery_id"),
        _text(row, "recipient_id", required=False),
        _text(row, "tracking_token", required=False),
        _required(row, "url"),
        _timestamp(row, "clicked_at", ctx),
        _text(row, "user_agent", required=False),
        method,
        position,
    )


def _inbound(position: int, row: dict[str, str], ctx: ParseContext) -> tuple[Any, ...]:
    return (
        _required(row, "provider").lower(),
        _text(row, "provider_message_id", required=False),
        _required(row, "phone"),
        _text(row, "recipient", required=False),
        row.get("text") or "",
        _timestamp(row, "received_at", ctx),
        position,
    )


def logged_send(report: Report, ctx: ParseContext) -> Send | None:
    """The send-log row a provider's message log gives for one of its reports (sources.yaml ``send_log``).

    The message goes to the delivery of its sender and UTC day (:func:`logged_delivery_id`), or of the value of
    the source's ``send_log_field`` and UTC day when one is configured. The provider knows
    no recipient profile, and a number may rightly get several messages a day: each message is its own
    recipient (its id), the number stays its ``phone_e164``. A report without a submit time gives none.
    """
    if report.submitted_at is None:
        return None
    phone_e164 = to_e164(report.phone, ctx.options.get("default_region")) if report.phone else None
    return Send(
        provider=report.provider,
        provider_message_id=report.provider_message_id,
        delivery_id=logged_delivery_id(ctx.source, delivery_key(report, ctx), report.submitted_at),
        recipient_id=report.provider_message_id,
        phone_raw=report.phone,
        phone_e164=phone_e164,
        submitted_at=report.submitted_at,
        segments=report.segments if report.segments is not None else 1,
    )


def delivery_key(report: Report, ctx: ParseContext) -> str | None:
    """What names a message-log report's delivery besides its day: its sender, or its ``send_log_field``."""
    return report.delivery_key if ctx.delivery_field else report.sender


def logged_delivery_id(source: str, key: str | None, submitted_at: datetime) -> str:
    """``<source>:<key>:<UTC day>``: one delivery per sender (or configured field) and day; ``<source>::<day>``
    for the messages without one."""
    return f"{source}:{key or ''}:{submitted_at.astimezone(UTC).date().isoformat()}"


def logged_delivery(send: Send, report: Report, ctx: ParseContext) -> Delivery:
    """The delivery of a message-log source's send; ``load/send_log.sql`` sets its ``created_at`` to the
    earliest submit time of its messages. Grouped by a field, it has no one sender."""
    day = send.submitted_at.astimezone(UTC).date().isoformat()
    key = delivery_key(report, ctx)
    missing = f"no {ctx.delivery_field}" if ctx.delivery_field else "no sender"
    measured = segments.profile("")
    return Delivery(
        delivery_id=send.delivery_id,
        name=f"{key or missing} {day} ({ctx.source})",
        sender=None if ctx.delivery_field else report.sender,
        content="",
        provider=send.provider,
        created_at=send.submitted_at,
        scheduled_at=None,
        is_proof=False,
        encoding=measured.encoding,
        content_length=measured.characters,
        content_units=measured.units,
        segments_per_message=measured.segments,
        segments_if_gsm7=measured.segments_if_gsm7,
        non_gsm7_characters=None,
        tracked_urls="[]",
    )


PARSERS = {
    "deliveries": Reader(Delivery, ("delivery_id", "name", "content", "provider", "created_at"), _delivery),
    "targets": Reader(Target, ("delivery_id", "recipient_id", "phone"), _target),
    "sends": Reader(
        Send, ("delivery_id", "recipient_id", "phone", "provider", "provider_message_id", "submitted_at"), _send
    ),
    "clicks": Reader(Click, ("delivery_id", "url", "clicked_at"), _click),
    "inbound": Reader(Inbound, ("provider", "phone", "text", "received_at"), _inbound),
}
"""Reader of each landing kind of the sending system, by folder name."""
