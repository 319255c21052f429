"""CSV exports of every list, with the filters in force: the same queries as the pages, streamed.

Each export reads its list through the page's own :class:`~sms_tracking.ui.queries.base.ListQuery` (same
SQL, same filters and sort, same masking) from a server-side cursor, and writes CSV in chunks, so a
million-row delivery log leaves the API server's memory flat. Cells a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from sms_tracking.ui import params, queries
from sms_tracking.ui.auth import Viewer
from sms_tracking.ui.queries.base import EXPORT_BATCH, OPTIONAL_TABLES, ListQuery, NotFound, Reader

CHUNK = 64 * 1024
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def cell(value: Any) -> str:
    """A CSV cell: ISO times, empty for null, and a leading ``'`` on what a spreadsheet would evaluate."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_chunks(columns: list[str], rows: Iterable[BaseModel]) -> Iterator[bytes]:
    """The header and the rows as UTF-8 CSV, in chunks of about :data:`CHUNK` bytes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        data = row.model_dump()
        writer.writerow([cell(data.get(c)) for c in columns])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def file_name(*parts: str) -> str:
    """``sms-tracking-<parts>-<UTC time>.csv``, with only safe characters."""
    stamp = datetime.now().astimezone().strftime("%Y%m%dT%H%M%S")
    return "-".join(_UNSAFE_NAME.sub("_", p).strip("_") or "_" for p in ("sms-tracking", *parts, stamp)) + ".csv"


def stream(name: str, columns: list[str], read: Callable[[Reader], Iterable[BaseModel]]) -> StreamingResponse:
    """Open the connection and read the first rows now (so a 404 or 422 is still an error answer), then
    stream the rest; the connection closes when the last chunk is sent or the client goes away."""

    def body() -> Iterator[bytes]:
        with queries.open_reader() as reader:
            rows = read(reader)
            yield b""  # everything up to the query's first fetch has run
            yield from csv_chunks(columns, rows)

    chunks = body()
    next(chunks)
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _columns(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def _streamed(reader: Reader, query: ListQuery) -> Iterator[BaseModel]:
    rows = reader.stream(query)
    first = next(rows, None)  # runs the query: its errors surface before the answer starts
    if first is None:
        return iter(())
    return _chain(first, rows)


def _chain(first: BaseModel, rest: Iterator[BaseModel]) -> Iterator[BaseModel]:
    yield first
    yield from rest


def delivery_log(viewer: Viewer, delivery_id: str, filters: params.LogFilters) -> StreamingResponse:
    from sms_tracking.ui import datamodels as m
    from sms_tracking.ui.queries.delivery import delivery_row
    from sms_tracking.ui.queries.delivery_log import log_query

    query = log_query(viewer, delivery_id, filters)

    def read(reader: Reader) -> Iterable[BaseModel]:
        delivery_row(reader, delivery_id)
        return _streamed(reader, query)

    return stream(file_name("delivery-log", delivery_id), _columns(m.LogRow), read)


def exclusions(viewer: Viewer, delivery_id: str, reason: str | None) -> StreamingResponse:
    from sms_tracking.ui import datamodels as m
    from sms_tracking.ui.queries.delivery import delivery_row
    from sms_tracking.ui.queries.exclusions import exclusions_query

    def read(reader: Reader) -> Iterable[BaseModel]:
        delivery_row(reader, delivery_id)
        if "exclusion" not in reader.present("exclusion"):
            raise NotFound(OPTIONAL_TABLES["exclusion"])
        return _streamed(reader, exclusions_query(viewer, delivery_id, reason))

    return stream(file_name("exclusions", delivery_id), _columns(m.ExclusionRow), read)


def tracking_log(delivery_id: str) -> StreamingResponse:
    from sms_tracking.ui import datamodels as m
    from sms_tracking.ui.queries.delivery import delivery_row
    from sms_tracking.ui.queries.tracking import tracking_log_query

    def read(reader: Reader) -> Iterable[BaseModel]:
        delivery_row(reader, delivery_id)
        return _streamed(reader, tracking_log_query(reader, delivery_id))

    return stream(file_name("tracking-log", delivery_id), _columns(m.ClickRow), read)


def quarantine(viewer: Viewer, filters: params.QuarantineFilters) -> StreamingResponse:
    from sms_tracking.ui import datamodels as m
    from sms_tracking.ui.queries.quarantine import quarantine_query

    query = quarantine_query(viewer, filters)

    def read(reader: Reader) -> Iterable[BaseModel]:
        if "quarantine" not in reader.present("quarantine"):
            raise NotFound(OPTIONAL_TABLES["quarantine"])
        return _streamed(reader, query)

    return stream(file_name("quarantine"), _columns(m.QuarantineRow), read)


def qualification(viewer: Viewer, provider: str | None, state: str | None) -> StreamingResponse:
    from sms_tracking.ui import datamodels as m
    from sms_tracking.ui.queries.qualification import qualification_query

    query = qualification_query(viewer, provider, state)
    return stream(file_name("qualification"), _columns(m.QualificationRow), lambda r: _streamed(r, query))


def deliveries(filters: params.DeliveryFilters) -> StreamingResponse:
    """The deliveries list (one row per delivery, with the page's click counts): read page by page."""
    from sms_tracking.ui import datamodels as m

    def read(reader: Reader) -> Iterator[BaseModel]:
        offset = 0
        while True:
            page = queries.deliveries(reader, filters, params.Paging(limit=EXPORT_BATCH, offset=offset))
            yield from page.items
            if len(page.items) < EXPORT_BATCH:
                return
            offset += EXPORT_BATCH

    return stream(file_name("deliveries"), _columns(m.DeliveryRow), read)


def quality(viewer: Viewer) -> StreamingResponse:
    """The latest validation results, one row per check (the page reads at most 2,000)."""
    from sms_tracking.ui import datamodels as m

    def read(reader: Reader) -> list[BaseModel]:
        return [v for t in queries.quality(reader, viewer).tables for v in t.results]

    return stream(file_name("data-quality"), _columns(m.ValidationRow), read)
