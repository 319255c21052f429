"""The provider-agnostic records every report adapter yields.

An adapter turns one landing object in a provider's native format into a stream of
:class:`Report` (a delivery report about a message we sent), :class:`Inbound` (a
mobile-originated message, e.g. a STOP reply) and :class:`Reject` (input it could not
read, with the reason). Nothing is dropped: every input line ends up as one of the three.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What an adapter needs to know about the source it reads."""

    source: str
    provider: str
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    options: dict[str, str] = field(default_factory=dict)
    delivery_field: str | None = None
    """The field whose value names a message's delivery (sources.yaml ``send_log_field``); adapters of a
    message-log format read it into :attr:`Report.delivery_key`."""


@dataclass(slots=True)
class Report:
    """One provider event about one outbound message, in the provider's own words.

    Not frozen, though no adapter changes one once made: a frozen dataclass's ``__init__`` took 2.7 times as
    long (10.4 against 3.9 µs a report, issue 19)."""

    provider: str
    provider_message_id: str
    raw_status: str
    raw_error: str | None
    event_at: datetime | None
    position: int
    raw_text: str
    submitted_at: datetime | None = None
    phone: str | None = None
    sender: str | None = None
    segments: int | None = None
    price: Decimal | None = None
    price_unit: str | None = None
    parse_warning: str | None = None
    """What the adapter could not read in a report it kept (its id and status were read)."""
    delivery_key: str | None = None
    """The value of the source's ``send_log_field`` in the provider's record (docs/sources.md#send_log)."""

    @property
    def error_code(self) -> str | None:
        """The error code as the qualification table keys it (see :func:`normalise_error_code`)."""
        return normalise_error_code(self.raw_error)


@dataclass(frozen=True, slots=True)
class Inbound:
    """A mobile-originated message (reply, keyword) received from a handset."""

    provider: str
    provider_message_id: str | None
    phone: str
    recipient: str | None
    text: str
    received_at: datetime | None
    position: int
    price: Decimal | None = None
    price_unit: str | None = None
    """What the provider charged for receiving it (Twilio, Infobip bill inbound messages)."""
    error_code: str | None = None
    """The provider's error code on an inbound message (Twilio ``error_code``), normalised as reports' are."""


@dataclass(frozen=True, slots=True)
class Reject:
    """Input that could not be read: where it was and why."""

    position: int
    raw_text: str
    reason: str


Record = Report | Inbound | Reject
Adapter = Callable[[Iterable[tuple[int, str]], ParseContext], Iterator[Record]]
"""An adapter reads ``(position, line)`` pairs (1-based line numbers, text decoded) of one object."""


def normalise_error_code(raw: str | None) -> str | None:
    """Numeric codes lose their leading zeros ("000", "0000" and "0" are the same code)."""
    if raw is None:
        return None
    code = raw.strip()
    if not code:
        return None
    if code.isascii() and code.isdigit():  # "²" is a digit to str.isdigit but not to int()
        return str(int(code))
    return code.upper()


_COMPACT_DATE = re.compile(r"^\d{10}(\d{2})?(\d{2})?$")


@lru_cache(maxsize=1 << 16)
def parse_compact_date(value: str | None, tz: ZoneInfo) -> datetime | None:
    """Read the zone-less ``YYMMDDhhmm[ss]`` (10, 12 digits) or ``YYYYMMDDhhmmss`` (14) dates of SMPP receipts.

    The source's time zone gives the offset; the result is in UTC. ``None`` when absent.
    Raises ValueError for anything else, so the caller can reject the record with the reason.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not _COMPACT_DATE.match(text):
        raise ValueError(f"date {text!r} is not YYMMDDhhmm, YYMMDDhhmmss or YYYYMMDDhhmmss")
    # Sliced by hand: strptime costs more than the rest of a receipt's parsing.
    if len(text) == 14:
        year, rest, pattern = int(text[:4]), text[4:], "%Y%m%d%H%M%S"
    else:
        year, rest = int(text[:2]), text[2:]
        year += 1900 if year >= 69 else 2000  # strptime's %y rule (POSIX)
        pattern = "%y%m%d%H%M%S" if len(text) == 12 else "%y%m%d%H%M"
    try:
        naive = datetime(year, int(rest[0:2]), int(rest[2:4]), int(rest[4:6]), int(rest[6:8]), int(rest[8:10] or 0))
    except ValueError:
        raise ValueError(f"date {text!r} is not a valid calendar date and time ({pattern})") from None
    return naive.replace(tzinfo=tz).astimezone(UTC)


def as_utc(value: datetime, tz: ZoneInfo) -> datetime:
    """A naive datetime is read in the source's zone; an aware one keeps its offset."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)
