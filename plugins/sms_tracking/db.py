"""Postgres access: connections, migrations and SQL files from ``include/sql``.

Every task, the demo and the test harness go through these functions, so the schema is created
the same way everywhere.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sms_tracking import resources

if TYPE_CHECKING:
    from pathlib import Path

    import psycopg

log = logging.getLogger(__name__)

SQL_DIR = resources.sql_dir()
MIGRATIONS_DIR = SQL_DIR / "migrations"
FUNCTIONS_DIR = SQL_DIR / "functions"
"""Stored functions, one current definition each (``CREATE OR REPLACE``), applied by :func:`migrate` when
changed (:func:`_apply_when_changed`); the build's advisory lock key is one of them (``sms_tracking.build_lock()``)."""
VIEWS_DIR = SQL_DIR / "views"
"""Views, one file each named after its view (``CREATE OR REPLACE VIEW``), and their comments
(``dictionary.yaml``), applied in name order after the functions by :func:`migrate` when changed
(:func:`_apply_when_changed`)."""
VIEW_DICTIONARY = "dictionary.yaml"
"""In the views folder: the comments of the views and their columns, and of table columns that restate
another's (:func:`_comment_views`)."""
REWRITTEN_FILE = "rewritten.toml"
"""In the migrations folder: the migrations rewritten after they were applied, with their earlier checksums."""
_MIGRATION_LOCK = 0x5D5_0001
_CREATES = re.compile(
    r"^CREATE\s+OR\s+REPLACE\s+(?P<kind>FUNCTION|VIEW|(?P<trigger>TRIGGER))\s+(?P<name>[\w.]+)"
    r"(?(trigger)[^;]*?\sON\s+(?P<table>[\w.]+))",
    re.IGNORECASE | re.MULTILINE,
)
"""What a file of the functions or views folder creates (a trigger with its table: its name is per table), for
:func:`_apply_when_changed` to see it missing."""


def session_settings() -> dict[str, str]:
    """The settings of every session the pipeline opens (``connect``, and GX's through ``quality``).

    ``work_mem`` and ``temp_buffers`` are the ``work_mem`` option: the loads stage a whole object in
    temporary tables and the build sorts and hashes whole batches, which spill to disk with the server's
    4 MB default (an empty value keeps the server's). JIT is off: the planner prices a statement that
    reads a few thousand rows through a lateral join as if it read millions, and compiled it for longer
    than it ran (0.56 s of JIT for a 20 ms statement of an incremental build; measured in bench/README.md).
    ``maintenance_work_mem`` is 256 MB: the indexes a first load or build drops and builds again after its rows
    (``sms_tracking.defer_indexes``) are sorted in memory.
    """
    from sms_tracking.settings import get_settings

    memory = get_settings().work_mem
    return {
        **({"work_mem": memory, "temp_buffers": memory} if memory else {}),
        "jit": "off",
        "maintenance_work_mem": "256MB",
    }


def dsn_shortcut(dsn: str | None = None) -> str | None:
    """Demo and tests only: ``dsn``, else the ``SMS_TRACKING_DSN`` environment variable, used instead of the
    Airflow connection. Deployments leave both unset and configure the connection (docs/operations.md)."""
    from sms_tracking.settings import DSN_SHORTCUT

    return dsn or os.environ.get(DSN_SHORTCUT) or None


def sqlalchemy_uri(dsn: str | None = None) -> str:
    """The same database as :func:`connect`, as a URI for SQLAlchemy (Great Expectations)."""
    from sms_tracking.hooks.postgres import SmsTrackingHook

    return dsn_shortcut(dsn) or str(SmsTrackingHook().get_uri())


def connect(dsn: str | None = None) -> psycopg.Connection[Any]:
    """A psycopg 3 connection to the tracking database, with :func:`session_settings`: the Airflow
    connection of :class:`~sms_tracking.hooks.postgres.SmsTrackingHook`, or the demo/test :func:`dsn_shortcut`."""
    import psycopg

    dsn = dsn_shortcut(dsn)
    if dsn:
        conn = psycopg.connect(dsn)
    else:
        from sms_tracking.hooks.postgres import SmsTrackingHook

        conn = SmsTrackingHook().get_conn()
    settings = session_settings()
    conn.execute(
        "SELECT " + ", ".join("set_config(%s, %s, false)" for _ in settings),  # type: ignore[arg-type]
        [value for pair in settings.items() for value in pair],
    )
    conn.commit()
    return conn  # type: ignore[no-any-return]


STALE_SHARE = 0.2
"""A table is vacuumed and analysed before a build step when this share of its rows changed since its last ANALYZE."""


def vacuum_analyze_stale(conn: psycopg.Connection[Any], schema: str = "sms_tracking") -> list[str]:
    """VACUUM (ANALYZE) the schema's tables that changed a lot since their statistics (a first load, a big
    batch).

    Autovacuum would get there, but maybe minutes after the next build step has planned its joins on a
    million rows believed to be none (measured: the tracking step at 145 s instead of 6 s on a 1M load).
    The VACUUM marks the new rows all-visible, so the next steps read their counts and ranges from the
    indexes alone instead of fetching every row (a first 1M build's audit step: 16.7 s to 11.0 s, for
    1.5 s of VACUUM). Small increments change nothing here, so an incremental build pays one catalog query.
    """
    stale = [
        row[0]
        for row in conn.execute(
            """SELECT relname FROM pg_stat_user_tables
            WHERE schemaname = %s AND n_mod_since_analyze > 1000
              AND n_mod_since_analyze > %s * greatest(n_live_tup, 1)
            ORDER BY relname""",
            (schema, STALE_SHARE),
        ).fetchall()
    ]
    conn.commit()
    if not stale:
        return stale
    autocommit = conn.autocommit
    conn.autocommit = True  # VACUUM runs outside a transaction
    try:
        for table in stale:
            conn.execute(f'VACUUM (ANALYZE) "{schema}"."{table}"')  # type: ignore[arg-type]
    finally:
        conn.autocommit = autocommit
    log.info("Vacuumed and analysed %s (their statistics were stale)", ", ".join(stale))
    return stale


def sql_text(relative: str) -> str:
    """The text of a file under ``include/sql``."""
    return (SQL_DIR / relative).read_text(encoding="utf-8")


def run_sql_file(conn: psycopg.Connection[Any], relative: str, params: Mapping[str, Any] | None = None) -> int:
    """Run a multi-statement SQL file in the current transaction; returns the row count of the last
    statement that has one (a trailing DDL or ``DO`` block has none).

    Statements are separated by a line holding only ``;`` or ending in ``;``, and take
    ``%(name)s`` parameters.
    """
    rowcount = -1
    with conn.cursor() as cur:
        for statement in split_statements(sql_text(relative)):
            cur.execute(statement, params if params and "%(" in statement else None)  # type: ignore[arg-type]
            if cur.rowcount >= 0:
                rowcount = cur.rowcount
    return rowcount


def split_statements(text: str) -> list[str]:
    """Split on semicolons that end a line, outside dollar-quoted blocks (enough for our own files)."""
    statements: list[str] = []
    current: list[str] = []
    in_dollar = False
    for line in text.splitlines():
        if line.count("$$") % 2 == 1:
            in_dollar = not in_dollar
        current.append(line)
        if not in_dollar and line.rstrip().endswith(";"):
            statement = "\n".join(current).strip()
            current = []
            if _has_code(statement):
                statements.append(statement)
    tail = "\n".join(current).strip()
    if _has_code(tail):
        statements.append(tail)
    return statements


def _has_code(statement: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in statement.splitlines())


def migrate(conn: psycopg.Connection[Any]) -> list[str]:
    """Apply the migrations not applied yet, in order, then the files of ``include/sql/functions``, then the
    views of ``include/sql/views``, each folder when it changed (:func:`_apply_when_changed`), in one
    transaction; idempotent. Returns the migrations applied.

    An advisory lock serialises concurrent callers; a changed, already-applied file is an error
    (migrations are append-only), unless ``migrations/rewritten.toml`` records the checksum it was applied
    with (:func:`rewritten_migrations`), which is then replaced by the file's. Functions are not: each has its
    one current definition in the functions folder, which replaces whatever the migrations created, so a rule
    changes in one place. They come after the migrations, since tables are what they read; so a migration
    sees the folders' functions and views as the previous migrate left them (on a fresh database: none), and
    only one that needs a function at migrate time (in an index, a trigger) creates it itself. A function's
    signature change, or a view's that ``CREATE OR REPLACE VIEW`` refuses (a column removed, renamed or
    retyped), needs a migration that drops the old one.
    """
    applied: list[str] = []
    conn.commit()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute("CREATE SCHEMA IF NOT EXISTS sms_tracking")
        conn.execute(
            """CREATE TABLE IF NOT EXISTS sms_tracking.schema_migration (
                   version text PRIMARY KEY, checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = dict(conn.execute("SELECT version, checksum FROM sms_tracking.schema_migration").fetchall())
        rewritten = rewritten_migrations()
        for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
            checksum = hashlib.sha256(path.read_bytes()).hexdigest()
            if path.stem in done:
                if done[path.stem] != checksum:
                    if done[path.stem] not in rewritten.get(path.stem, ()):
                        raise RuntimeError(
                            f"migration {path.name} was changed after it was applied "
                            f"(applied {done[path.stem][:12]}, file {checksum[:12]}): add a new migration instead"
                        )
                    conn.execute(
                        "UPDATE sms_tracking.schema_migration SET checksum = %s WHERE version = %s",
                        (checksum, path.stem),
                    )
                    log.info("Migration %s was rewritten since it was applied (%s)", path.name, REWRITTEN_FILE)
                continue
            _execute_file(conn, path)
            conn.execute(
                "INSERT INTO sms_tracking.schema_migration (version, checksum) VALUES (%s, %s)",
                (path.stem, checksum),
            )
            applied.append(path.stem)
            log.info("Applied migration %s", path.name)
        _apply_when_changed(conn, "functions", FUNCTIONS_DIR, after_migrations=bool(applied))
        _apply_when_changed(conn, "views", VIEWS_DIR, after_migrations=bool(applied))
    return applied


def _apply_when_changed(conn: psycopg.Connection[Any], name: str, folder: Path, after_migrations: bool) -> None:
    """Run every file of the folder (and comment the views of its ``dictionary.yaml``, if any) when one changed
    since the last time (its checksum is a row ``<name>/<file>`` of schema_migration), a function or view it
    creates is missing, or migrations just ran (one may have dropped or changed what the files read). Not on
    every migrate: migrate runs at the start of every ingest run, and replacing a view waits for the BI queries
    reading it and makes the next ones wait (a trigger, for the writers of its table)."""
    files = sorted(folder.glob("*.sql"))
    dictionary = folder / VIEW_DICTIONARY
    wanted = {
        f"{name}/{path.stem}": hashlib.sha256(path.read_bytes()).hexdigest()
        for path in [*files, dictionary]
        if path.exists()
    }
    recorded = dict(
        conn.execute(
            "SELECT version, checksum FROM sms_tracking.schema_migration WHERE starts_with(version, %s)", (f"{name}/",)
        )
    )
    created = [
        match.group("kind", "name", "table") for path in files for match in _CREATES.finditer(path.read_text("utf-8"))
    ]
    missing = conn.execute(
        """SELECT count(*) FROM unnest(%s::text[], %s::text[], %s::text[]) AS o(kind, name, on_table)
            WHERE CASE upper(kind)
                  WHEN 'VIEW' THEN to_regclass(name) IS NULL
                  WHEN 'TRIGGER' THEN NOT EXISTS (
                      SELECT FROM pg_trigger WHERE tgname = lower(name) AND tgrelid = to_regclass(on_table))
                  ELSE to_regproc(name) IS NULL END""",
        ([kind for kind, _, _ in created], [name for _, name, _ in created], [table for _, _, table in created]),
    ).fetchone()
    if not after_migrations and recorded == wanted and missing == (0,):
        return
    for path in files:
        _execute_file(conn, path)
    if dictionary.exists():
        _comment_views(conn, dictionary)
    conn.execute("DELETE FROM sms_tracking.schema_migration WHERE starts_with(version, %s)", (f"{name}/",))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO sms_tracking.schema_migration (version, checksum) VALUES (%s, %s)", list(wanted.items())
        )
    log.info("Applied the %d files of include/sql/%s", len(files), name)


def _comment_views(conn: psycopg.Connection[Any], dictionary: Path) -> None:
    """Comment the views, their columns and the table columns the dictionary names: first the comments of the
    same-named columns of each ``copy`` relation (a later one wins), then the relation's own ``columns``."""
    import yaml
    from psycopg import sql

    for view, entry in yaml.safe_load(dictionary.read_text(encoding="utf-8")).items():
        target = sql.Identifier(*view.split("."))
        if "comment" in entry:
            conn.execute(sql.SQL("COMMENT ON VIEW {} IS {}").format(target, sql.Literal(entry["comment"])))
        comments: dict[str, str] = {}
        for source in entry.get("copy", []):
            comments.update(
                conn.execute(
                    """SELECT t.attname, col_description(s.attrelid, s.attnum)
                         FROM pg_attribute t
                         JOIN pg_attribute s ON s.attrelid = %s::regclass AND s.attname = t.attname
                        WHERE t.attrelid = %s::regclass AND t.attnum > 0 AND NOT t.attisdropped
                          AND s.attnum > 0 AND NOT s.attisdropped
                          AND col_description(s.attrelid, s.attnum) IS NOT NULL""",
                    (source, view),
                ).fetchall()
            )
        comments.update(entry.get("columns", {}))
        for column, text in comments.items():
            conn.execute(
                sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(target, sql.Identifier(column), sql.Literal(text))
            )


def rewritten_migrations() -> dict[str, set[str]]:
    """Per migration, the checksums it was applied with before a rewrite that cannot change what a database
    ends with (the file explains which rewrites qualify); read at each migrate."""
    import tomllib

    allowed: dict[str, set[str]] = {}
    path = MIGRATIONS_DIR / REWRITTEN_FILE
    if not path.exists():  # a folder of migrations none of which was rewritten
        return allowed
    for entry in tomllib.loads(path.read_text(encoding="utf-8")).get("rewrite", []):
        allowed.setdefault(entry["migration"], set()).add(entry["previous"])
    return allowed


def _execute_file(conn: psycopg.Connection[Any], path: Path) -> None:
    with conn.cursor() as cur:
        for statement in split_statements(path.read_text(encoding="utf-8")):
            cur.execute(statement)  # type: ignore[arg-type]
