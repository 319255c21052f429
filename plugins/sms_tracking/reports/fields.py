"""Field readers shared by the provider report adapters.

The JSON and query-string adapters read the same kinds of values (stripped strings that may be
numbers, decimals given as strings or floats, ISO-8601 dates, bounded counts and prices), and the CSV
adapters share one line feed. They live here so that a bad value is rejected with the same reason
whichever provider sent it. A reader raises :class:`FieldError`, whose message is the reject reason;
the adapter turns it into a :class:`~sms_tracking.reports.base.Reject`.
"""

from __future__ import annotations

import csv
import json
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sms_tracking.reports.base import Reject, as_utc

PRICE_LIMIT = Decimal(10) ** 7
"""Prices are stored as numeric(12, 5): a larger one is a broken line, not a price."""
COUNT_LIMIT = 2**31 - 1
"""Segments are stored as a Postgres integer."""
MAX_ROW_LINES = 50
"""A CSV row may span lines (a quoted text with newlines); a stray quote must not swallow the file."""


class FieldError(ValueError):
    """A field whose value cannot be read; the message names the field and the value."""


def optional_text(fields: Mapping[str, Any], name: str, prefix: str = "") -> str | None:
    """A string field, stripped; absent, null and empty are None; an integer (a numeric id) is text.

    ``prefix`` names the enclosing object in the reason (``attributes.``).
    """
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise FieldError(f"{prefix}{name} {value!r} is not a string")
    return value.strip() or None


def decimal_value(value: Any, name: str) -> Decimal | None:
    """A number given as a string, an int or a float (read through its repr, so 0.01 stays exact).

    Absent (None) and blank strings are None.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldError(f"{name} {value!r} is not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise FieldError(f"{name} {value!r} is not a number") from None
    if not number.is_finite():
        raise FieldError(f"{name} {value!r} is not a number")
    return number


def price_value(value: Any, name: str) -> Decimal | None:
    """A decimal price (see :func:`decimal_value`) that fits the report table."""
    number = decimal_value(value, name)
    if number is not None and abs(number) >= PRICE_LIMIT:
        raise FieldError(f"{name} {value!r} is out of range")
    return number


def count_value(value: Any, name: str, limit: int | None = COUNT_LIMIT) -> int | None:
    """A whole, non-negative count given as a number or a string; ``limit=None`` checks no maximum."""
    number = decimal_value(value, name)
    if number is None:
        return None
    if number != number.to_integral_value() or number < 0:
        raise FieldError(f"{name} {value!r} is not a whole number")
    if limit is not None and number > limit:
        raise FieldError(f"{name} {value!r} is out of range")
    return int(number)


def iso_date(fields: Mapping[str, Any], name: str, tz: ZoneInfo, expected: str = "an ISO-8601 date") -> datetime | None:
    """An ISO-8601 date in UTC (a zone-less one read in ``tz``); None when absent.

    ``expected`` is how the reason describes the form the value should have had.
    """
    value = optional_text(fields, name)
    if value is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(value), tz)
    except ValueError:
        raise FieldError(f"{name} {value!r} is not {expected}") from None


def nested_object(fields: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A nested object; absent or null is empty."""
    value = fields.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(f"{name} {value!r} is not an object")
    return value


def json_value(text: str, position: int, raw: str, problem: str = "invalid JSON") -> Any:
    """The JSON value of ``text``, or the :class:`Reject` of ``raw`` that says why it is not JSON."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        return Reject(position, raw, f"{problem}: {exc}")


def json_objects(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str, dict[str, Any]] | Reject]:
    """The JSON object of each non-blank line as ``(position, line, object)``.

    A line that is not JSON, or not an object, is a :class:`Reject` in its place, so no line is lost.
    """
    for position, line in lines:
        text = line.strip()
        if not text:
            continue
        value = json_value(text, position, line)
        if isinstance(value, Reject):
            yield value
            continue
        if not isinstance(value, dict):
            yield Reject(position, line, f"expected a JSON object, got {type(value).__name__}")
            continue
        yield position, line, value


class LineFeed:
    """Feeds ``(position, text)`` lines to the csv module, remembering which lines each row took.

    A row that spans lines but does not parse can be retried line by line (:meth:`retry_singly`),
    so one stray quote costs one line; a row is capped at :data:`MAX_ROW_LINES` lines.
    """

    def __init__(self, source: Iterator[tuple[int, str]], delimiter: str = ",") -> None:
        self._source = source
        self._delimiter = delimiter
        self._replay: deque[tuple[int, str]] = deque()
        self._single = False
        self._taken: list[tuple[int, str]] = []
        self.capped = False

    def __iter__(self) -> LineFeed:
        return self

    def __next__(self) -> str:
        if self._taken and (self._single or len(self._taken) >= MAX_ROW_LINES):
            self.capped = not self._single
            raise StopIteration
        item = self._replay.popleft() if self._replay else next(self._source)
        self._taken.append(item)
        return item[1] + "\n"

    def next_row(self) -> tuple[list[tuple[int, str]], list[str], str | None] | None:
        """The next row, the lines it took and the csv module's complaint if any; None at the end."""
        self._taken, self.capped = [], False
        fields: list[str] | None = None
        error: str | None = None
        try:
            fields = next(csv.reader(self, delimiter=self._delimiter), None)
        except csv.Error as exc:
            error = str(exc)
        self._single = False
        if not self._taken:
            return None
        return self._taken, fields or [], error

    def retry_singly(self, taken: list[tuple[int, str]]) -> None:
        """Re-read a multi-line row's first line on its own, then the others from the start."""
        self._replay.extendleft(reversed(taken))
        self._single = True
