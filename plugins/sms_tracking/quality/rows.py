"""The rows a run validates: its scope, each suite's SQL, and the scratch tables GX reads them from."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sms_tracking.quality.config import QualityConfig
from sms_tracking.quality.suites import SCHEMA, Check, Suite

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)


def literal(value: Any) -> str:
    """A value as a quoted SQL literal: GX query assets take SQL text, not bound parameters."""
    from psycopg import sql

    return sql.Literal(value).as_string(None)


def sql_values(config: QualityConfig, sources: Iterable[str]) -> dict[str, str]:
    """The scope-independent placeholders of the suite queries (the freshness list)."""
    names = dict.fromkeys(["campaign", *sources, *config.freshness_hours])
    rows = ", ".join(
        f"({literal(name)}, {float(config.freshness_hours.get(name, config.freshness_default_hours))!r})"
        for name in names
    )
    return {"freshness_sources": f"VALUES {rows}", "stuck_lookback_days": str(config.stuck_lookback_days)}


def render_sql(template: str, run_id: str, now: datetime, values: Mapping[str, str]) -> str:
    """A suite's SQL with its placeholders: {run_id}, {objects}, {run_deliveries}, {now} and ``values``."""
    run = literal(run_id)
    # GX wants a query that starts with SELECT: wrapping lets the files open with comments and WITH.
    return (
        "SELECT * FROM (\n"
        + template.format_map(
            {
                "run_id": run,
                "objects": f"(SELECT object_id FROM {SCHEMA}.validated_object WHERE run_id = {run})",
                "run_deliveries": f"(SELECT delivery_id FROM {SCHEMA}.delivery_summary WHERE refreshed_by_run = {run})",
                "now": literal(now),
                **values,
            }
        ).strip()
        + "\n) AS rows_in_scope"
    )


def existing_tables(conn: psycopg.Connection[Any], tables: Iterable[str]) -> set[str]:
    rows = conn.execute(
        "SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(%s || '.' || quote_ident(t)) IS NOT NULL",
        (sorted(tables), SCHEMA),
    ).fetchall()
    return {row[0] for row in rows}


def claim_objects(conn: psycopg.Connection[Any], run_id: str) -> int:
    """Take every object no run validated yet as this run's scope; returns the scope's size.

    A retry of the run keeps the objects it took before, so it validates the same rows and more.
    """
    conn.execute(
        f"""INSERT INTO {SCHEMA}.validated_object (object_id, run_id)
            SELECT o.object_id, %s FROM {SCHEMA}.source_object o
             WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA}.validated_object v WHERE v.object_id = o.object_id)
            ON CONFLICT DO NOTHING""",
        (run_id,),
    )
    row = conn.execute(f"SELECT count(*) FROM {SCHEMA}.validated_object WHERE run_id = %s", (run_id,)).fetchone()
    return int(row[0]) if row else 0


WORK_SCHEMA = "sms_tracking_work"


WORK_TABLE_MAX_AGE = timedelta(days=1)


def work_table(suite: Suite, run_id: str, now: datetime) -> str:
    """The scratch table of a suite's rows: named after the run (a retry replaces its own) and the time (so
    a killed task's leftovers can be told by age)."""
    run = hashlib.sha256(run_id.encode()).hexdigest()[:10]
    return f"v{int(now.timestamp())}_{run}_{suite.name}"


def materialise(
    conn: psycopg.Connection[Any],
    table: str,
    query: str,
    unique: Sequence[Check] = (),
    source: str | None = None,
    copy: bool = True,
) -> bool:
    """Give GX, as ``table`` (committed, so GX's own connection reads it), a suite's rows with the duplicate
    counts of its ``unique`` checks; False when there are none (nothing is left then).

    ``copy``: the rows are computed once into an unlogged table. Else ``table`` is a view of ``query``, which GX
    reads twice (a row count, then one bundled query of every check): less than a copy costs when the query
    only filters stored rows (1M messages: 1.3 s of backend CPU against 1.9 s), each marker a NULL constant,
    unless two keys share a hash: their counts need the copy. (Not GX's query assets: GX runs the whole query,
    and fetches its rows, to learn its column names.) ``source``: the table of ``sms_tracking`` the rows are a
    subset of, unchanged (a suite without a query), whose unique indexes can prove a key unique without
    counting."""
    if not copy:
        with conn.transaction():
            if not _fetch(conn, f"SELECT EXISTS ({query})"):
                return False
            markers = ["*"]
            for check in unique:
                if not (source and unique_index(conn, source, check)) and _keys_share_hash(
                    conn, f"({query}) AS rows_in_scope", check
                ):
                    break
                markers.append(f'NULL::bigint AS "{check.marker}"')
            else:
                conn.execute(f"CREATE VIEW {WORK_SCHEMA}.{table} AS SELECT {', '.join(markers)} FROM ({query}) AS rows")
                return True
    with conn.transaction():
        conn.execute(f"DROP TABLE IF EXISTS {WORK_SCHEMA}.{table}")
        # No autovacuum: it would analyse a table read whole a few times and dropped within seconds, and a
        # worker still at it holds up the DROP for the deadlock timeout (1 s) before it is cancelled.
        rows = conn.execute(
            f"CREATE UNLOGGED TABLE {WORK_SCHEMA}.{table} WITH (autovacuum_enabled = false) AS {query}"
        ).rowcount
        if not rows:
            conn.execute(f"DROP TABLE {WORK_SCHEMA}.{table}")
            return False
        for check in unique:
            mark_duplicates(
                conn, f"{WORK_SCHEMA}.{table}", check, proven=bool(source) and unique_index(conn, source, check)
            )
    return True


def _fetch(conn: psycopg.Connection[Any], query: str) -> Any:
    row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    return row[0] if row else None


def unique_index(conn: psycopg.Connection[Any], table: str, check: Check) -> bool:
    """Whether a valid unique index of ``sms_tracking.<table>`` (a primary key, say) keys on some of the
    check's columns, with no predicate, each key either a NOT NULL column or ``COALESCE(column, constant)``
    (``report_natural_key``): then no two rows of the table, nor of any subset of its rows, share the check's
    key (NULLs equal: the COALESCE makes the index stricter still), and Postgres enforces it on every write."""
    row = conn.execute(
        r"""SELECT EXISTS (
               SELECT FROM pg_index x
                WHERE x.indrelid = to_regclass(%s) AND x.indisunique AND x.indisvalid AND x.indpred IS NULL
                  AND NOT EXISTS (
                      SELECT FROM unnest(x.indkey) WITH ORDINALITY AS k (attnum, position)
                        LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                       WHERE k.position <= x.indnkeyatts
                         AND NOT coalesce(
                             CASE WHEN k.attnum = 0
                                  THEN substring(pg_get_indexdef(x.indexrelid, k.position::int, true)
                                                 FROM '^COALESCE\((\w+), (?:''[^'']*''|-?[0-9.]+)(?:::[\w ]+)?\)$')
                                  WHEN a.attnotnull THEN a.attname::text
                              END = ANY (%s), false)))""",
        (f"{SCHEMA}.{table}", list(check.unique_columns or ())),
    ).fetchone()
    return bool(row and row[0])


def mark_duplicates(conn: psycopg.Connection[Any], table: str, check: Check, proven: bool = False) -> None:
    """Count, in the check's marker column, the rows sharing each row's key (NULL when none does).

    GX then checks that column is NULL. Its own uniqueness expectations join the table to its grouped
    self, 3-8 s per check on a million rows and a third of a 1M validation; this is one hash aggregate
    (plus a join with the duplicates, when there are any). As in GX, rows whose key columns are all NULL
    are not compared; NULLs compare equal, as in the tables' unique indexes. A key ``proven`` unique by
    :func:`unique_index` is not counted: its column stays NULL (the aggregate was 8-10 s of CPU under
    load per million rows, for a count Postgres's index keeps at zero).
    """
    columns = check.unique_columns or ()
    key = ", ".join(f'"{c}"' for c in columns)
    conn.execute(f'ALTER TABLE {table} ADD COLUMN "{check.marker}" bigint')
    if proven or not _keys_share_hash(conn, table, check):
        return
    conn.execute(
        f"""UPDATE {table} t SET "{check.marker}" = d.rows
              FROM (SELECT ROW({key})::text AS key, count(*) AS rows FROM {table}
                     WHERE {" OR ".join(f'"{c}" IS NOT NULL' for c in columns)}
                     GROUP BY {key} HAVING count(*) > 1) d
             WHERE ROW({", ".join(f't."{c}"' for c in columns)})::text = d.key"""
    )


def _keys_share_hash(conn: psycopg.Connection[Any], rows: str, check: Check) -> bool:
    """Whether two of the rows' keys share a 64-bit hash. Keys whose hashes all differ are all different:
    counting distinct hashes (a sort of integers) is 0.6 s on a million keys, against 1.6 s for the grouping
    of :func:`mark_duplicates`, which then runs only when two keys share a hash (duplicates, or a collision it
    tells apart). Rows whose key columns are all NULL are not compared, as in GX."""
    columns = check.unique_columns or ()
    key = ", ".join(f'"{c}"' for c in columns)
    return bool(
        _fetch(
            conn,
            f"""SELECT count(*) > count(DISTINCT hash_record_extended(ROW({key}), 0)) FROM {rows}
                 WHERE {" OR ".join(f'"{c}" IS NOT NULL' for c in columns)}""",
        )
    )


def drop_work_tables(conn: psycopg.Connection[Any], tables: Iterable[str]) -> None:
    """Drop a validation's scratch tables and views; on a broken connection, leave them to
    :func:`drop_stale_work_tables`."""
    import psycopg

    try:
        conn.rollback()
        with conn.transaction():
            _drop(conn, list(tables))
    except psycopg.Error as exc:
        log.warning("Scratch tables of this validation not dropped (%s); a later validation drops them", exc)


def drop_stale_work_tables(conn: psycopg.Connection[Any], now: datetime) -> None:
    """Drop the scratch tables and views of validations killed more than a day ago (a live one ends long
    before)."""
    horizon = (now - WORK_TABLE_MAX_AGE).timestamp()
    stale = [
        name
        for (name,) in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = to_regnamespace(%s) AND relkind IN ('r', 'v')",
            (WORK_SCHEMA,),
        ).fetchall()
        if (match := re.match(r"v(\d+)_", name)) and int(match.group(1)) < horizon
    ]
    for name in stale:
        log.info("Dropping %s.%s, left by a validation that did not finish", WORK_SCHEMA, name)
    _drop(conn, stale)


def _drop(conn: psycopg.Connection[Any], names: Sequence[str]) -> None:
    """Drop these scratch tables and views (views first: none reads a table, but drop what may depend first)."""
    kinds = conn.execute(
        """SELECT relname, relkind FROM pg_class
            WHERE relnamespace = to_regnamespace(%s) AND relname = ANY (%s) ORDER BY relkind DESC""",
        (WORK_SCHEMA, list(names)),
    ).fetchall()
    for name, kind in kinds:
        conn.execute(f"DROP {'VIEW' if kind == 'v' else 'TABLE'} IF EXISTS {WORK_SCHEMA}.{name}")
