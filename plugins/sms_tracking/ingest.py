"""Loading landing objects into Postgres: decode, parse, COPY into staging, merge with SQL.

One object is loaded in one transaction, so a failure leaves nothing half-written and a retry
starts clean. An object already loaded with the same checksum is skipped; bad lines go to the
``reject`` table; a batch whose reject rate passes the threshold is refused as a whole.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import itertools
import logging
import operator
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from functools import cache
from typing import IO, TYPE_CHECKING, Any

from sms_tracking import contract
from sms_tracking.audit import RunInfo
from sms_tracking.errors import PermanentError
from sms_tracking.memo import Memo
from sms_tracking.phone import to_e164
from sms_tracking.reports.base import Inbound, ParseContext, Reject, Report, normalise_error_code
from sms_tracking.reports.fields import COUNT_LIMIT, PRICE_LIMIT

if TYPE_CHECKING:
    import psycopg
    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)

CHUNK_ROWS = 20_000
READ_BLOCK = 1 << 20
MAX_LINE_BYTES = 1 << 20
"""A longer line is rejected without being decoded, so one bad line cannot exhaust memory."""
LINE_BLOCK = 1 << 16
"""Lines are decoded a block at a time: the lines of a block shorter than MAX_LINE_BYTES need no length test."""


class BatchRejected(PermanentError):
    """The share of bad lines in an object says the batch is unusable."""


@dataclass
class LoadResult:
    """What happened to one object; small enough for an XCom."""

    source: str
    uri: str
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_duplicate: int = 0
    rows_rejected: int = 0
    object_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Staging of each record type: (table, columns). Merge SQL lives in include/sql/load/<table>.sql.
_REPORT_COLUMNS = (
    "provider",
    "provider_message_id",
    "raw_status",
    "raw_error",
    "error_code",
    "event_at",
    "received_at",
    "submitted_at",
    "phone_raw",
    "sender",
    "segments",
    "price",
    "price_unit",
    "raw_text",
    "object_id",
    "position",
    "parse_warning",
)
_INBOUND_COLUMNS = (
    "inbound_key",
    "provider",
    "provider_message_id",
    "phone_raw",
    "phone_e164",
    "recipient",
    "text",
    "received_at",
    "object_id",
    "position",
    "price",
    "price_unit",
    "error_code",
)
_REJECT_COLUMNS = ("object_id", "source", "uri", "position", "raw_text", "reason")
_TABLES: dict[type, tuple[str, tuple[str, ...]]] = {
    Report: ("report", _REPORT_COLUMNS),
    Inbound: ("inbound_message", _INBOUND_COLUMNS),
    contract.Delivery: ("delivery", (*(f.name for f in fields(contract.Delivery)), "object_id")),
    contract.Target: ("target", (*(f.name for f in fields(contract.Target)), "object_id")),
    contract.Send: ("message", (*(f.name for f in fields(contract.Send)), "object_id")),
    contract.Click: ("click", (*(f.name for f in fields(contract.Click)), "object_id")),
}

_FIELDS: dict[type, Callable[[Any], tuple[Any, ...]]] = {
    cls: operator.attrgetter(*(f.name for f in fields(cls)))
    for cls in (contract.Delivery, contract.Target, contract.Send, contract.Click)
}
"""The fields of a contract record in column order (``dataclasses.astuple`` deep-copies every value)."""


def landing_path(landing: str, relative: str = "") -> ObjectStoragePath:
    """The landing root (a folder or a URL) joined with a relative part, as an ObjectStoragePath."""
    from airflow.sdk import ObjectStoragePath

    if "://" not in landing:
        from pathlib import Path

        landing = Path(landing).resolve().as_uri()
    root = ObjectStoragePath(landing.rstrip("/") + "/")
    return root / relative if relative else root


def list_objects(folder: ObjectStoragePath) -> list[str]:
    """URIs of the files under ``folder`` (recursively), sorted so loads happen in a stable order."""
    if not folder.exists():
        return []
    return sorted(str(p) for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def checksum(path: ObjectStoragePath) -> tuple[str, int]:
    """SHA-256 and size of an object, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while block := stream.read(READ_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def decode_lines(stream: IO[bytes], gzipped: bool = False) -> Iterator[tuple[int, str] | Reject]:
    """Numbered text lines of a byte stream; undecodable or oversized lines become rejects.

    UTF-8 (with or without BOM) is decoded a block of lines at a time; a UTF-16 BOM switches the whole object to
    UTF-16. A truncated gzip ends the object with a reject at the line where it broke.
    """
    source: IO[bytes] = gzip.GzipFile(fileobj=stream) if gzipped else stream  # type: ignore[assignment]
    position = 0
    try:
        head = source.read(2)
        if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            text = io.TextIOWrapper(_Prefixed(head, source), encoding="utf-16", errors="strict", newline=None)
            try:
                for position, line in enumerate(text, start=1):
                    yield position, line.rstrip("\r\n")
            except UnicodeDecodeError as exc:
                yield Reject(position + 1, "", f"invalid UTF-16: {exc.reason}")
            return
        # Read in blocks, each block's whole lines decoded at once; a line that is not UTF-8 or too long is
        # rejected on its own (_byte_line). A gzip stream hands over what it decompressed before a truncation
        # point (read1) rather than losing the whole block to the EOFError a full read would raise.
        read = source.read1 if gzipped else source.read  # type: ignore[attr-defined]
        carry, long_line = b"", None
        for block in itertools.chain((head,), iter(lambda: read(LINE_BLOCK), b"")):
            if long_line is not None:
                # The rest of a line found too long is skipped, then the line is rejected.
                cut = block.find(b"\n")
                if cut < 0:
                    continue
                yield long_line
                block, long_line = block[cut + 1 :], None
            data = carry + block if carry else block
            end = data.rfind(b"\n") + 1
            carry = data[end:]
            if end:
                whole = data[:end]
                if position == 0 and whole.startswith(codecs.BOM_UTF8) and whole.find(b"\n") <= MAX_LINE_BYTES:
                    whole = whole[len(codecs.BOM_UTF8) :]
                text = _utf8(whole) if end <= MAX_LINE_BYTES else None
                if text is None:
                    for raw in whole.split(b"\n")[:-1]:
                        position += 1
                        yield _byte_line(position, raw + b"\n")
                else:
                    found = text.split("\n")
                    found.pop()
                    if "\r" in text:
                        found = [line.rstrip("\r") for line in found]
                    yield from enumerate(found, position + 1)
                    position += len(found)
            if len(carry) > MAX_LINE_BYTES:
                position += 1
                long_line, carry = _byte_line(position, carry), b""
        if long_line is not None:
            yield long_line
        if carry:
            position += 1
            if position == 1 and carry.startswith(codecs.BOM_UTF8):
                carry = carry[len(codecs.BOM_UTF8) :]
            yield _byte_line(position, carry)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        yield Reject(position + 1, "", f"compressed data is truncated or corrupt: {exc}")


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _byte_line(position: int, raw: bytes) -> tuple[int, str] | Reject:
    """One line as read (its newline kept): text, or a reject when it is too long or not UTF-8."""
    if len(raw) - raw.endswith(b"\n") > MAX_LINE_BYTES:
        head = raw[: min(200, MAX_LINE_BYTES + 1)]
        return Reject(position, head.decode("utf-8", "replace"), f"line longer than {MAX_LINE_BYTES} bytes")
    try:
        return position, raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        latin = raw.decode("latin-1").rstrip("\r\n")
        return Reject(position, latin, f"not UTF-8 (byte {exc.start}: {exc.reason})")


class _Prefixed(io.RawIOBase):
    """A stream with bytes already read put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n], self._head = self._head[:n], self._head[n:]
            return n
        # A gzip stream hands over what it decompressed before a truncation point (read1) rather than
        # losing the whole block to the EOFError a full read would raise.
        data = self._rest.read1(len(buffer)) if isinstance(self._rest, gzip.GzipFile) else self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _clean(value: Any) -> Any:
    """Postgres text cannot hold NUL; keep the rest of the value visible."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def _report_row(record: Report, object_id: int, received_at: datetime) -> tuple[Any, ...]:
    raw_error = record.raw_error
    row = (
        record.provider,
        record.provider_message_id,
        raw_status := record.raw_status,
        raw_error,
        _ERROR_CODES[raw_error],
        record.event_at,
        received_at,
        record.submitted_at,
        phone := record.phone,
        sender := record.sender,
        record.segments,
        record.price,
        record.price_unit,
        raw_text := record.raw_text,
        object_id,
        record.position,
        warning := record.parse_warning,
    )
    # The texts that may hold a NUL (decoded JSON or form fields can) tested one by one: cheaper than joining them.
    if (
        "\x00" in raw_text
        or "\x00" in raw_status
        or (raw_error is not None and "\x00" in raw_error)
        or (phone is not None and "\x00" in phone)
        or (sender is not None and "\x00" in sender)
        or (warning is not None and "\x00" in warning)
    ):
        return tuple(_clean(v) if i in _REPORT_CLEANED else v for i, v in enumerate(row))
    return row


_ERROR_CODES: Memo[str | None, str | None] = Memo(normalise_error_code, 1 << 12)
""":func:`normalise_error_code` of each raw error met: a few dozen codes, read for every report."""


_REPORT_CLEANED = frozenset(
    _REPORT_COLUMNS.index(name)
    for name in ("raw_status", "raw_error", "error_code", "phone_raw", "sender", "raw_text", "parse_warning")
)
"""The positions of the report columns that come from the provider's text as it is (the error code is the raw
error's: a NUL left in it would fail the whole object's COPY)."""


def _row(record: Any, object_id: int, ctx: ParseContext) -> tuple[Any, ...]:
    if isinstance(record, Inbound):
        key_parts = [
            record.provider,
            record.provider_message_id or "",
            record.phone,
            record.text,
            record.received_at.isoformat() if record.received_at else f"{object_id}:{record.position}",
        ]
        key = record.provider_message_id or hashlib.sha256("\x1f".join(key_parts).encode()).hexdigest()
        return (
            f"{record.provider}:{key}",
            record.provider,
            record.provider_message_id,
            _clean(record.phone),
            to_e164(record.phone, ctx.options.get("default_region")),
            _clean(record.recipient),
            _clean(record.text),
            record.received_at,
            object_id,
            record.position,
            record.price,
            _clean(record.price_unit),
            _clean(normalise_error_code(record.error_code)),
        )
    return (*map(_clean, _FIELDS[type(record)](record)), object_id)


class _Stager:
    """Buffers parsed records per staging table and flushes them with binary COPY in chunks (the values are
    typed already: binary costs the client a quarter of text)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.buffers: dict[str, list[tuple[Any, ...]]] = {}
        self.columns: dict[str, tuple[str, ...]] = {}
        self.types: dict[str, list[int]] = {}
        self.counts: dict[str, int] = {}

    def add(self, table: str, columns: tuple[str, ...], row: tuple[Any, ...]) -> None:
        buffer = self.buffer(table, columns)
        buffer.append(row)
        if len(buffer) >= CHUNK_ROWS:
            self.flush(table)

    def buffer(self, table: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
        """The rows waiting for a table: a caller that appends to it flushes it at CHUNK_ROWS."""
        if (buffer := self.buffers.get(table)) is not None:
            return buffer
        self.conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS stage_{table} ON COMMIT DROP AS "
            f"SELECT {', '.join(columns)} FROM sms_tracking.{table} WITH NO DATA"
        )
        described = self.conn.execute(f"SELECT {', '.join(columns)} FROM stage_{table} LIMIT 0").description
        self.columns[table] = columns
        self.types[table] = [column.type_code for column in described or ()]
        self.counts[table] = 0
        buffer = self.buffers[table] = []
        return buffer

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.buffers):
            rows = self.buffers.get(name) or []
            if not rows:
                continue
            with self.conn.cursor() as cur:
                cur.adapters.register_dumper(None, _jsonb_text_dumper())
                with cur.copy(
                    f"COPY stage_{name} ({', '.join(self.columns[name])}) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(self.types[name])
                    write = copy.write_row
                    for row in rows:
                        write(row)
            self.counts[name] += len(rows)
            rows.clear()


@cache
def _jsonb_text_dumper() -> type:
    """A binary jsonb dumper for a value that is JSON text already (psycopg's would quote it as a string)."""
    from psycopg import adapt, pq
    from psycopg.postgres import types

    class JsonbText(adapt.Dumper):
        format = pq.Format.BINARY
        oid = types["jsonb"].oid

        def dump(self, obj: str) -> bytes:
            return b"\x01" + obj.encode()

    return JsonbText


def load_object(
    conn: psycopg.Connection[Any],
    *,
    source: str,
    kind: str,
    path: ObjectStoragePath,
    parser: Callable[[Iterable[tuple[int, str]], ParseContext], Iterator[Any]],
    ctx: ParseContext,
    max_reject_rate: float,
    run: RunInfo = RunInfo(),  # noqa: B008 - a frozen dataclass
    send_log: bool = False,
) -> LoadResult:
    """Load one object in one transaction; skip it when this exact content was loaded before.

    With ``send_log`` (a message-log source, docs/sources.md#send_log) its reports also stage the send log and
    its deliveries, merged by ``load/send_log.sql``; they are derived rows, not counted as the object's."""
    from sms_tracking import db

    uri = str(path)
    started = datetime.now(UTC)
    clock = time.monotonic()
    digest, size = checksum(path)
    conn.commit()
    with conn.transaction():
        previous = conn.execute(
            "SELECT object_id, status FROM sms_tracking.source_object WHERE source = %s AND uri = %s AND checksum = %s",
            (source, uri, digest),
        ).fetchone()
        if previous and previous[1] != "rejected":
            log.info("Skipping %s: already loaded as object %s with the same checksum", uri, previous[0])
            return LoadResult(source, uri, "skipped", object_id=previous[0])
        if previous:
            conn.execute("DELETE FROM sms_tracking.source_object WHERE object_id = %s", (previous[0],))
        modified_at = modified_time(path)
        object_id = conn.execute(
            """INSERT INTO sms_tracking.source_object
                   (source, kind, uri, checksum, size_bytes, modified_at, status, started_at, finished_at, dag_id,
                    run_id, task_id)
               VALUES (%s, %s, %s, %s, %s, %s, 'loaded', %s, %s, %s, %s, %s) RETURNING object_id""",
            (source, kind, uri, digest, size, modified_at, started, started, run.dag_id, run.run_id, run.task_id),
        ).fetchone()[0]  # type: ignore[index]
        received_at = modified_at or started
        stager = _Stager(conn)
        read = rejected = warned = 0
        first_rejects: list[Reject] = []
        nul = False  # whether a line held a NUL: the values of a contract row are cut from its lines

        def lines() -> Iterator[tuple[int, str]]:
            nonlocal read, rejected, nul
            with path.open("rb") as stream:
                for item in decode_lines(stream, gzipped=uri.endswith(".gz")):
                    if isinstance(item, Reject):
                        read += 1
                        reject(item)
                    elif item[1].strip():
                        nul = nul or "\x00" in item[1]
                        yield item

        def reject(item: Reject) -> None:
            nonlocal rejected
            rejected += 1
            if len(first_rejects) < 3:
                first_rejects.append(item)
            stager.add(
                "reject", _REJECT_COLUMNS, (object_id, source, uri, item.position, _clean(item.raw_text), item.reason)
            )

        logged: dict[str, contract.Delivery] = {}

        def log_send(report: Report) -> None:
            send = contract.logged_send(report, ctx)
            if send is None:
                return
            stager.add("message", _TABLES[contract.Send][1], _row(send, object_id, ctx))
            if send.delivery_id not in logged:
                logged[send.delivery_id] = contract.logged_delivery(send, report, ctx)

        # The two loops append to the stager's buffer themselves: a call per row costs more than its COPY.
        staged: list[tuple[Any, ...]] | None = None
        if isinstance(parser, contract.Reader) and parser.record in _FIELDS:
            table, columns = _TABLES[parser.record]
            for item in parser.rows(lines(), ctx):
                read += 1
                if type(item) is Reject:
                    reject(item)
                    continue
                if staged is None:
                    staged = stager.buffer(table, columns)
                staged.append((*map(_clean, item), object_id) if nul else (*item, object_id))  # type: ignore[arg-type]
                if len(staged) >= CHUNK_ROWS:
                    stager.flush(table)
        else:
            for record in parser(lines(), ctx):
                # Read counts records, not lines: a CSV header is not a row, so read = loaded + duplicate + rejected.
                read += 1
                if isinstance(record, Report):
                    report, price, segments = True, record.price, record.segments
                elif isinstance(record, Reject):
                    reject(record)
                    continue
                else:
                    report, price, segments = False, record.price if isinstance(record, Inbound) else None, None
                # A price or segment count its column cannot hold is a reject, whatever adapter made the record: one
                # bad value must not abort the COPY of the whole object. Tested inline: a call cost 15-20 ns a report.
                if price is not None and not abs(price) < PRICE_LIMIT:
                    reason = f"price {price} is out of range (|price| < {PRICE_LIMIT})"
                    reject(Reject(record.position, getattr(record, "raw_text", ""), reason))
                    continue
                if segments is not None and not 0 <= segments <= COUNT_LIMIT:
                    reject(Reject(record.position, record.raw_text, f"segments {segments} is out of range"))
                    continue
                if report:
                    warned += record.parse_warning is not None
                    if staged is None:
                        staged = stager.buffer("report", _REPORT_COLUMNS)
                    staged.append(_report_row(record, object_id, received_at))
                    if len(staged) >= CHUNK_ROWS:
                        stager.flush("report")
                    if send_log:
                        log_send(record)
                    continue
                table, columns = _TABLES[type(record)]
                warned += getattr(record, "parse_warning", None) is not None
                stager.add(table, columns, _row(record, object_id, ctx))
        for delivery in sorted(logged.values(), key=operator.attrgetter("delivery_id")):
            stager.add("delivery", _TABLES[contract.Delivery][1], _row(delivery, object_id, ctx))
        stager.flush()

        rate = rejected / read if read else 0.0
        loaded = duplicate = 0
        status = "loaded"
        if rate > max_reject_rate:
            status = "rejected"
        else:
            params = {"object_id": object_id, "source": source, "uri": uri, "send_log": send_log}
            for table, staged in stager.counts.items():
                if table == "reject" or (send_log and table in ("message", "delivery")):
                    continue
                inserted = db.run_sql_file(conn, f"load/{table}.sql", params)
                loaded += inserted
                duplicate += staged - inserted
            if logged:
                db.run_sql_file(conn, "load/send_log.sql", params)
        if "reject" in stager.counts:
            # A refused batch keeps every bad line (the file is to be fixed); a loaded one only those not
            # already rejected from another object, the others counting as its duplicates.
            stored = db.run_sql_file(
                conn, "load/reject.sql", {"object_id": object_id, "deduplicate": status == "loaded"}
            )
            duplicate += rejected - stored
            rejected = stored
        conn.execute(
            """UPDATE sms_tracking.source_object SET status = %s, rows_read = %s, rows_loaded = %s,
                   rows_duplicate = %s, rows_rejected = %s, rows_warned = %s, finished_at = %s
             WHERE object_id = %s""",
            (status, read, loaded, duplicate, rejected, warned, datetime.now(UTC), object_id),
        )
    result = LoadResult(source, uri, status, read, loaded, duplicate, rejected, object_id)
    log.info(
        "%s %s: %d read, %d loaded, %d duplicate, %d rejected in %.2fs",
        status.capitalize(),
        uri,
        read,
        loaded,
        duplicate,
        rejected,
        time.monotonic() - clock,
    )
    if status == "rejected":
        examples = "; ".join(f"line {r.position}: {r.reason} ({r.raw_text[:80]!r})" for r in first_rejects)
        raise BatchRejected(
            f"{uri}: {rejected} of {read} lines rejected ({rate:.1%} > [sms_tracking] max_reject_rate "
            f"{max_reject_rate:.1%}); nothing from it was loaded. First bad lines: {examples}"
        )
    return result


def modified_time(path: ObjectStoragePath, info: Any = None) -> datetime | None:
    """The object's modification time (from ``info``, its ``stat()``, when given): the received time of
    reports that carry none, and with the size the quick check of :func:`sms_tracking.pipeline.pending_objects`."""
    if info is None:
        try:
            info = path.stat()
        except (OSError, NotImplementedError):
            return None
    mtime = info.get("mtime") or info.get("LastModified") or info.get("created")
    if isinstance(mtime, datetime):
        return mtime.astimezone(UTC)
    if isinstance(mtime, int | float):
        return datetime.fromtimestamp(mtime, UTC)
    return None
