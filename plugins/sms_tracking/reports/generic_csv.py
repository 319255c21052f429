"""Adapter for a delivery-report CSV of any provider (format ``generic_csv``).

For a provider without its own adapter, or an export of a known one in a shape of its own: the
source's ``options`` (docs/sources.md) say which column holds which field, and optionally translate
the provider's status words into the ones the qualification seed knows for the source's provider.

Options (all flat, dotted keys):

* ``column.<field>=<header>``: the column of each field; ``provider_message_id`` and ``raw_status``
  are required, ``raw_error``, ``event_at``, ``submitted_at``, ``phone``, ``sender``, ``segments``,
  ``price`` and ``price_unit`` optional. Headers are matched case-insensitively.
* ``status.<their word>=<raw_status>``: a status translation; exact match first, then ignoring case;
  a word without a translation is kept as written.
* ``date_format``: a ``strptime`` format, or ``epoch`` / ``epoch_ms``; absent, dates are ISO-8601.
  A date without a zone is read in the source's zone.
* ``price_unit``: the currency of every price when there is no ``price_unit`` column (or it is empty).
* ``delimiter``: one character, or ``tab``; default ``,``.

A wrong option is a configuration error: :func:`read_options` raises ValueError naming it, before any
line is read (like ``smpp``'s ``id_format``). Input is never a reason to raise: a row that cannot be
read is a :class:`Reject` naming the field, the column and the value, and every non-blank line after
the header yields at least one record. Every record is a :class:`Report`: the format has no inbound
messages. The price is stored as an absolute value (Twilio-style exports write costs as negatives).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sms_tracking.reports.base import ParseContext, Record, Reject, Report, as_utc
from sms_tracking.reports.fields import COUNT_LIMIT, PRICE_LIMIT, FieldError, LineFeed

FIELDS = (
    "provider_message_id",
    "raw_status",
    "raw_error",
    "event_at",
    "submitted_at",
    "phone",
    "sender",
    "segments",
    "price",
    "price_unit",
)
"""The :class:`Report` fields a column can be mapped to (``column.<field>``)."""

REQUIRED = ("provider_message_id", "raw_status")
EPOCH_FORMATS = {"epoch": 1, "epoch_ms": 1000}
"""Special ``date_format`` values: seconds or milliseconds since 1970-01-01 UTC."""

_EPOCH = datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))


@dataclass(frozen=True)
class CsvOptions:
    """The options of a ``generic_csv`` source, checked."""

    columns: dict[str, str]
    """Field name -> header name (lower case)."""
    statuses: dict[str, str]
    date_format: str | None = None
    price_unit: str | None = None
    delimiter: str = ","
    folded_statuses: dict[str, str] = field(default_factory=dict)
    """The translations by case-folded word (the first of words differing only in case wins)."""

    def status(self, word: str) -> str:
        """The raw status for a provider's word: the translation, else the word as written."""
        if word in self.statuses:
            return self.statuses[word]
        return self.folded_statuses.get(word.casefold(), word)


def read_options(options: Mapping[str, str]) -> CsvOptions:
    """Check and read the options; raises ValueError naming the option (other keys are ignored)."""
    columns: dict[str, str] = {}
    statuses: dict[str, str] = {}
    for key, value in options.items():
        if key.startswith("column."):
            name = key.removeprefix("column.").strip()
            if name not in FIELDS:
                raise ValueError(f"option {key!r}: {name!r} is not one of {', '.join(FIELDS)}")
            if not value.strip():
                raise ValueError(f"option {key!r} names no column")
            columns[name] = value.strip().lower()
        elif key.startswith("status."):
            word = key.removeprefix("status.").strip()
            if not word or not value.strip():
                raise ValueError(f"option {key!r}={value!r}: a status translation needs both words")
            statuses[word] = value.strip()
    missing = [f"column.{name}" for name in REQUIRED if name not in columns]
    if missing:
        raise ValueError(f"missing option {', '.join(missing)}")
    delimiter = options.get("delimiter") or ","
    if delimiter.lower() in ("tab", "\\t"):
        delimiter = "\t"
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise ValueError(f"option delimiter {delimiter!r} is not one character (or 'tab')")
    folded: dict[str, str] = {}
    for word, status in statuses.items():
        folded.setdefault(word.casefold(), status)
    return CsvOptions(
        columns=columns,
        statuses=statuses,
        folded_statuses=folded,
        date_format=options.get("date_format") or None,
        price_unit=(options.get("price_unit") or "").strip().upper() or None,
        delimiter=delimiter,
    )


def parse(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> Iterator[Record]:
    """Read the CSV: the first non-blank line is the header, each row after it one report.

    A quoted field may span lines; a row that spans lines but does not parse is retried line by line,
    so one stray quote costs one line (as in ``twilio_csv``).
    """
    try:
        settings = read_options(ctx.options)
    except ValueError as exc:
        raise ValueError(f"source {ctx.source!r} (generic_csv): {exc}") from None
    feed = LineFeed(iter(lines), settings.delimiter)
    header: dict[str, int] | None = None
    header_problem: str | None = None
    width = 0
    while (row := feed.next_row()) is not None:
        taken, fields, error = row
        position, raw = taken[0][0], "\n".join(text for _, text in taken)
        if len(taken) == 1 and not raw.strip():
            continue
        expected = len(fields) if header is None else width
        if len(taken) > 1 and (error is not None or feed.capped or len(fields) != expected):
            feed.retry_singly(taken)
        elif error is not None:
            yield Reject(position, raw, f"unreadable CSV row: {error}")
        elif header is None:
            names = [name.removeprefix("\ufeff").strip().lower() for name in fields]
            header, width = {}, len(names)
            for index, name in enumerate(names):
                header.setdefault(name, index)
            absent = [
                f"{column!r} (column.{target})" for target, column in settings.columns.items() if column not in header
            ]
            if absent:
                header_problem = f"header has no column {', '.join(absent)}"
                yield Reject(position, raw, header_problem)
        elif header_problem is not None:
            yield Reject(position, raw, header_problem)
        elif len(fields) != width:
            yield Reject(position, raw, f"row has {len(fields)} fields, header has {width}")
        else:
            cells = {target: fields[header[column]].strip() for target, column in settings.columns.items()}
            yield _report(cells, settings, position, raw, ctx)


def _report(cells: Mapping[str, str], settings: CsvOptions, position: int, raw: str, ctx: ParseContext) -> Record:
    """Map one row's mapped cells (empty = absent) to a Report."""
    try:
        for name in REQUIRED:
            if not cells[name]:
                raise FieldError(f"missing {name} (column {settings.columns[name]!r})")
        price = _price(cells, settings)
        unit = (cells.get("price_unit") or "").upper() or settings.price_unit
        return Report(
            provider=ctx.provider,
            provider_message_id=cells["provider_message_id"],
            raw_status=settings.status(cells["raw_status"]),
            raw_error=cells.get("raw_error") or None,
            event_at=_date(cells, "event_at", settings, ctx.tz),
            position=position,
            raw_text=raw,
            submitted_at=_date(cells, "submitted_at", settings, ctx.tz),
            phone=cells.get("phone") or None,
            sender=cells.get("sender") or None,
            segments=_segments(cells, settings),
            price=price,
            price_unit=None if price is None else unit,
        )
    except FieldError as exc:
        return Reject(position, raw, str(exc))


def _where(name: str, settings: CsvOptions, value: str) -> str:
    """``event_at (column 'done') '...'``: the start of a reject reason about one cell."""
    return f"{name} (column {settings.columns[name]!r}) {value!r}"


def _date(cells: Mapping[str, str], name: str, settings: CsvOptions, tz: ZoneInfo) -> datetime | None:
    """A date cell in UTC, read with ``date_format`` (ISO-8601 when absent); empty is None."""
    value = cells.get(name)
    if not value:
        return None
    fmt = settings.date_format
    try:
        if fmt is None:
            return as_utc(datetime.fromisoformat(value), tz)
        if fmt in EPOCH_FORMATS:
            return _EPOCH + timedelta(microseconds=int(Decimal(value) * 1_000_000 / EPOCH_FORMATS[fmt]))
        return as_utc(datetime.strptime(value, fmt), tz)
    except (ValueError, ArithmeticError):
        expected = "an ISO-8601 date" if fmt is None else f"a date in the format {fmt!r}"
        raise FieldError(f"{_where(name, settings, value)} is not {expected}") from None


def _segments(cells: Mapping[str, str], settings: CsvOptions) -> int | None:
    """A whole, non-negative number of parts; empty is None."""
    value = cells.get("segments")
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise FieldError(f"{_where('segments', settings, value)} is not a whole number")
    if int(value) > COUNT_LIMIT:
        raise FieldError(f"{_where('segments', settings, value)} is out of range")
    return int(value)


def _price(cells: Mapping[str, str], settings: CsvOptions) -> Decimal | None:
    """A decimal price (``.`` as the decimal point), stored as its absolute value; empty is None."""
    value = cells.get("price")
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise FieldError(f"{_where('price', settings, value)} is not a number")
    if abs(number) >= PRICE_LIMIT:
        raise FieldError(f"{_where('price', settings, value)} is out of range")
    return abs(number)
