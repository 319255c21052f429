"""What every page function shares: the request's connection (:class:`Reader`), the SQL files of
``include/sql/ui``, the errors the routes render, masking, and the capped counts of long lists.

Tables that later migrations add (exclusion, quarantine, audit journal, validation results) are looked up
with ``to_regclass`` on every call, so a page shows an empty state until they exist and works right after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from psycopg import Connection, sql
from psycopg.rows import dict_row
from pydantic import BaseModel

from sms_tracking import db
from sms_tracking.settings import get_settings
from sms_tracking.ui import datamodels as m, params
from sms_tracking.ui.auth import Viewer
from sms_tracking.ui.masking import mask_phone, mask_text

COUNT_CAP = 10_000
"""Large filtered lists are counted up to here ("10,000+"), so a page never counts millions of rows."""


_MIGRATE = "the next DAG run applies it (sms_tracking.pipeline.prepare_database), and this view fills in then."


OPTIONAL_TABLES: dict[str, str] = {
    "exclusion": "No exclusion data yet: the exclusion table (sms_tracking.exclusion) is created by migration "
    f"0003_quarantine in include/sql/migrations; {_MIGRATE}",
    "quarantine": "No quarantine data yet: the quarantine table (sms_tracking.quarantine) is created by migration "
    f"0003_quarantine in include/sql/migrations; {_MIGRATE}",
    "quarantine_history": "No quarantine history yet: the table sms_tracking.quarantine_history is created by "
    f"migration 0003_quarantine in include/sql/migrations; {_MIGRATE}",
    "audit_event": "No delivery journal yet: the table sms_tracking.audit_event is created by migration "
    f"0003_quarantine in include/sql/migrations; {_MIGRATE} The pipeline audit below is available now.",
    "validation_result": "No validation results yet: the table sms_tracking.validation_result is created by "
    f"migration 0002_quality in include/sql/migrations and filled by the build's validation; {_MIGRATE}",
}


class NotFound(LookupError):
    """The thing asked for does not exist (rendered as 404)."""


class Conflict(RuntimeError):
    """The action cannot run in the current state (rendered as 409)."""


class Invalid(ValueError):
    """A value the request gave is not acceptable (rendered as 422)."""


@cache
def sql_file(name: str) -> str:
    return db.sql_text(f"ui/{name}.sql")


def statement(name: str, **fragments: str) -> sql.Composable:
    """The SQL of ``include/sql/ui/<name>.sql``, its ``{placeholders}`` filled with trusted SQL only."""
    text = sql_file(name)
    if not fragments:
        return sql.SQL(text)  # type: ignore[arg-type]
    return sql.SQL(text).format(**{key: sql.SQL(value) for key, value in fragments.items()})  # type: ignore[arg-type]


EXPORT_BATCH = 2_000
"""Rows an export fetches from its server-side cursor at a time: its memory does not grow with the list."""


@dataclass(frozen=True)
class ListQuery:
    """One list of a page, as its page and its CSV export both read it: the SQL file (which ends with
    ``LIMIT %(limit)s OFFSET %(offset)s``), its arguments and trusted fragments, and how a row becomes the
    response model (masking included)."""

    name: str
    args: dict[str, Any]
    fragments: dict[str, str]
    to_model: Callable[[dict[str, Any]], BaseModel]


@dataclass
class Reader:
    """One connection for one request, with the helpers the page functions share."""

    conn: Connection[Any]

    def rows(self, name: str, args: dict[str, Any] | None = None, **fragments: str) -> list[dict[str, Any]]:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(statement(name, **fragments), args or {})
            return cur.fetchall()

    def row(self, name: str, args: dict[str, Any] | None = None, **fragments: str) -> dict[str, Any] | None:
        found = self.rows(name, args, **fragments)
        return found[0] if found else None

    def page_of(self, query: ListQuery, limit: int, offset: int) -> list[Any]:
        """One page of the list, as response models."""
        found = self.rows(query.name, {**query.args, "limit": limit, "offset": offset}, **query.fragments)
        return [query.to_model(r) for r in found]

    def stream(self, query: ListQuery) -> Iterator[Any]:
        """Every row of the list (``LIMIT NULL``), as response models, through a server-side cursor that
        fetches :data:`EXPORT_BATCH` rows at a time."""
        args = {**query.args, "limit": None, "offset": 0}
        with self.conn.cursor(name="sms_tracking_export", row_factory=dict_row) as cur:
            cur.itersize = EXPORT_BATCH
            cur.execute(statement(query.name, **query.fragments), args)
            for r in cur:
                yield query.to_model(r)

    def present(self, *tables: str) -> set[str]:
        return {r["name"] for r in self.rows("tables_present", {"names": list(tables)})}


READ_AHEAD_PAGES = 64
"""``effective_io_concurrency`` of a request's session: a bitmap heap scan asks the kernel for this many of
its next pages at once instead of waiting for each. A delivery's rows lie on one page each (its messages,
log rows and reports arrived among every other delivery's), so a tab read cold waited for 150-450 reads in
a row (0.34 ms each on the bench machine, 0.03 ms each when asked for ahead). A higher server setting is kept."""


@contextmanager
def open_reader(write: bool = False) -> Iterator[Reader]:
    """A connection per request (``sms_tracking.db.connect``, so the pipeline's session settings): read-only
    unless asked, with a statement timeout and :data:`READ_AHEAD_PAGES`."""
    timeout = get_settings().ui_statement_timeout_ms
    with closing(db.connect()) as conn:
        conn.read_only = not write
        conn.execute(
            "SELECT set_config('statement_timeout', %s, false), set_config('TimeZone', 'UTC', false), "
            # 0 is the only value a server without posix_fadvise accepts, or the administrator's choice: kept.
            "set_config('effective_io_concurrency', CASE current_setting('effective_io_concurrency') WHEN '0' "
            "THEN '0' ELSE greatest(current_setting('effective_io_concurrency')::int, %s)::text END, false)",
            (str(timeout), READ_AHEAD_PAGES),
        )
        yield Reader(conn)
        conn.commit()


def preferring_summary(
    reader: Reader, summary_table: str, summary_sql: str, fallback_sql: str, args: dict[str, Any]
) -> list[dict[str, Any]]:
    """Rows of the build's pre-aggregated ``summary_table`` when it exists and has rows for the delivery,
    else the same figures aggregated from the detail table (before the build has summarised it)."""
    if summary_table in reader.present(summary_table):
        found = reader.rows(summary_sql, args)
        if found:
            return found
    return reader.rows(fallback_sql, args)


def masked_phone(viewer: Viewer, phone: str | None) -> str | None:
    return mask_phone(phone) if viewer.mask_phones else phone


def masked_text(viewer: Viewer, text: str | None) -> str | None:
    return mask_text(text) if viewer.mask_phones else text


def phone_args(viewer: Viewer, phone: str | None) -> dict[str, Any]:
    """Exact match, plus prefix match for viewers who see numbers (a prefix search would unmask them)."""
    prefix = params.like_prefix(phone) if phone and not viewer.mask_phones else None
    return {"phone": phone, "phone_like": prefix}


def check_sort(viewer: Viewer, sort: str) -> None:
    """Viewers who see masked numbers may not sort by number: the order would reveal them one comparison at
    a time (enumeration). The pages offer no such sort to them; an API call asking for it gets 422."""
    if sort == "phone" and viewer.mask_phones:
        raise Invalid("sort=phone is not available while numbers are masked for you: choose another sort key")


def rate(part: int | None, whole: int | None) -> float | None:
    return round(part / whole, 4) if part is not None and whole else None


def time_unit(first: datetime | None, last: datetime | None) -> str:
    return "hour" if first is None or last is None or last - first <= timedelta(days=3) else "day"


def count_cap() -> dict[str, int]:
    """The ``cap`` argument of the ``*_count`` statements: they count up to one row past :data:`COUNT_CAP`."""
    return {"cap": COUNT_CAP + 1}


def capped_total(total: int) -> dict[str, Any]:
    """A page's total from a capped count: "10,000+" rather than the count of millions of rows."""
    return {"total_entries": min(total, COUNT_CAP), "total_is_capped": total > COUNT_CAP}


def counted_page(reader: Reader, query: ListQuery, count: str, paging: params.Paging) -> m.Page[Any]:
    """A page of a long list with its capped total: the ``count`` statement takes the list's arguments and filters,
    and the cap."""
    items = reader.page_of(query, paging.limit, paging.offset)
    args = {**query.args, **count_cap()}
    total = (reader.row(count, args, filters=query.fragments["filters"]) or {"total": 0})["total"]
    return m.Page[Any](items=items, **capped_total(total), limit=paging.limit, offset=paging.offset)


def unavailable_page(table: str, paging: params.Paging) -> m.Page[Any]:
    """The empty page of a list whose optional ``table`` does not exist yet, with the notice saying when it will."""
    empty = {"items": [], "total_entries": 0, "available": False, "notice": OPTIONAL_TABLES[table]}
    return m.Page[Any](**empty, limit=paging.limit, offset=paging.offset)
