"""sms_tracking.db on a real Postgres: statistics refreshed before a build step plans on them, deferred indexes,
and migrations with the stored functions and views applied when their files changed."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import threading
import time
import tomllib
from collections import Counter
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from tests.project import PROJECT

from sms_tracking import db
from sms_tracking_dev.local_postgres import find_bin_dir

pytestmark = pytest.mark.integration


def modified_since_analyze(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE schemaname = 'sms_tracking' AND relname = %s",
            (table,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_tables_changed_a_lot_are_vacuumed_and_analysed_and_small_changes_are_not(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO sms_tracking.pending_message (provider, provider_message_id) "
            "SELECT 'smpp', 'M' || n FROM generate_series(1, 5000) AS n"
        )
    deadline = time.monotonic() + 10  # the inserting backend reports its counts as it exits
    while modified_since_analyze(dsn, "pending_message") < 5000 and time.monotonic() < deadline:
        time.sleep(0.1)
    with db.connect(dsn) as conn:
        assert "pending_message" in db.vacuum_analyze_stale(conn)
    with psycopg.connect(dsn) as conn:
        analysed, vacuumed, estimate = conn.execute(
            "SELECT s.last_analyze IS NOT NULL, s.last_vacuum IS NOT NULL, c.reltuples "
            "FROM pg_stat_user_tables s JOIN pg_class c "
            "ON c.oid = s.relid WHERE s.schemaname = 'sms_tracking' AND s.relname = 'pending_message'"
        ).fetchone()
        conn.execute("INSERT INTO sms_tracking.pending_message VALUES ('smpp', 'one more')")
    assert analysed and vacuumed and estimate == 5000
    time.sleep(0.5)
    with db.connect(dsn) as conn:
        assert "pending_message" not in db.vacuum_analyze_stale(conn)  # 1 change in 5,001 rows: left to autovacuum


def index_definitions(conn: psycopg.Connection, table: str) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'sms_tracking' AND tablename = %s ORDER BY 1", (table,)
        ).fetchall()
    ]


def test_deferred_indexes_are_dropped_for_a_batch_as_large_as_the_table_and_restored(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        before = index_definitions(conn, "quarantine_event")
        deferred = conn.execute("SELECT sms_tracking.defer_indexes('sms_tracking.quarantine_event', 10)").fetchone()[0]
        assert sorted(deferred) == sorted(d for d in before if "UNIQUE" not in d)
        assert len(deferred) == 3  # delivery, phone and error (migration 0029)
        assert index_definitions(conn, "quarantine_event") == [d for d in before if "UNIQUE" in d]
        conn.execute("SELECT sms_tracking.restore_indexes(%s)", (deferred,))
        assert index_definitions(conn, "quarantine_event") == before
        conn.rollback()
        # A table holding more rows than the batch keeps its indexes.
        conn.execute(
            "INSERT INTO sms_tracking.quarantine_event (event_key, phone_e164, at, kind, cause_kind) "
            "SELECT 'user:' || n, '+3361234567' || n, now(), 'hard', 'user' "
            "FROM generate_series(1, 3) AS n"
        )
        assert conn.execute("SELECT sms_tracking.defer_indexes('sms_tracking.quarantine_event', 2)").fetchone()[0] == []
        assert conn.execute("SELECT sms_tracking.defer_indexes('sms_tracking.quarantine_event', 0)").fetchone()[0] == []
        assert index_definitions(conn, "quarantine_event") == before


def test_deferred_indexes_are_kept_when_a_reader_holds_the_table(dsn: str) -> None:
    with psycopg.connect(dsn) as reader, psycopg.connect(dsn) as build:
        reader.execute("SELECT count(*) FROM sms_tracking.delivery_log")  # its lock lasts until it commits
        before = index_definitions(build, "delivery_log")
        build.execute("SET statement_timeout = '10s'")  # a wait for the reader fails instead of hanging
        started = time.monotonic()
        assert build.execute("SELECT sms_tracking.defer_indexes('sms_tracking.delivery_log', 100)").fetchone()[0] == []
        assert time.monotonic() - started < 5  # did not wait for the reader
        assert index_definitions(build, "delivery_log") == before


FUNCTION_DEFINITION = re.compile(r"\bCREATE\s+(OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\s+([\w.]+)\s*\(", re.IGNORECASE)


def definitions(folder: Path) -> list[tuple[Path, str, bool]]:
    """(file, schema.name, OR REPLACE?) of each function or procedure created under the folder."""
    return [
        (path, match.group(2).lower(), bool(match.group(1)))
        for path in sorted(folder.rglob("*.sql"))
        for match in FUNCTION_DEFINITION.finditer(path.read_text(encoding="utf-8"))
    ]


def stored_functions(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """Each function of the project's schemas, as schema.name and its full definition."""
    return conn.execute(
        "SELECT n.nspname || '.' || p.proname, pg_get_functiondef(p.oid) FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname IN ('sms_tracking', 'sms_tracking_bi', 'sms_tracking_work') ORDER BY 1, 2"
    ).fetchall()


def test_each_function_has_one_definition_in_the_functions_folder_and_the_database_holds_exactly_those(
    dsn: str,
) -> None:
    current = definitions(db.FUNCTIONS_DIR)
    names = Counter(name for _, name, _ in current)
    assert names and all(count == 1 for count in names.values()), names
    assert all(replace for _, _, replace in current)  # re-applied on an existing database
    elsewhere = [
        (path, name)
        for path, name, _ in definitions(db.SQL_DIR)
        if path.parent not in (db.FUNCTIONS_DIR, db.MIGRATIONS_DIR)
    ]
    assert elsewhere == []
    # Migrations keep the definitions they were applied with; the folder replaces every one of them.
    assert {name for _, name, _ in definitions(db.MIGRATIONS_DIR)} <= set(names)
    with psycopg.connect(dsn) as conn:
        assert [name for name, _ in stored_functions(conn)] == sorted(names)  # no stale signature left over


def test_the_advisory_lock_keys_are_written_once(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        build, load_high, smpp, twilio = conn.execute(
            "SELECT sms_tracking.build_lock(), sms_tracking.load_lock('smpp') >> 32, sms_tracking.load_lock('smpp'),"
            " sms_tracking.load_lock('twilio')"
        ).fetchone()
    assert len({build, smpp, twilio}) == 3  # one key per provider, none the build's
    project = Path.cwd()  # pytest runs from the top of the checkout
    for key in (build, load_high):
        holders = [
            path.relative_to(project).as_posix()
            for folder in ("include/sql", "plugins", "dags", "tests", "docs", "bench")
            for path in (project / folder).rglob("*")
            if path.suffix in (".sql", ".py", ".md")
            and project / "include/sql/migrations" not in path.parents
            and re.search(rf"\b{key}\b", path.read_text(encoding="utf-8"))
        ]
        assert holders == ["include/sql/functions/locks.sql"], key


def test_functions_are_replaced_when_a_file_changed_or_a_function_is_missing_and_not_on_every_migrate(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = "CREATE OR REPLACE FUNCTION sms_tracking.url_key(url text) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$"
    with psycopg.connect(dsn) as conn:
        current = stored_functions(conn)
        conn.execute(stale)  # by hand
    with psycopg.connect(dsn) as reader, db.connect(dsn) as conn:
        # A BI reader and a qualification writer in flight: a migrate with nothing new waits for neither.
        reader.execute("SELECT count(*) FROM sms_tracking_bi.delivery_status")
        reader.execute("LOCK TABLE sms_tracking.qualification IN ROW EXCLUSIVE MODE")
        conn.execute("SET lock_timeout = '2s'")
        assert db.migrate(conn) == []
        assert conn.execute("SELECT sms_tracking.url_key('a')").fetchone() == ("x",)  # untouched
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP FUNCTION sms_tracking.build_lock()")
    with db.connect(dsn) as conn:
        assert db.migrate(conn) == []
        assert stored_functions(conn) == current  # the folder applied again, the hand-made url_key replaced too
    # A definition changed in its file takes effect at the next migrate, with no new migration.
    changed = tmp_path / "functions"
    shutil.copytree(db.FUNCTIONS_DIR, changed)
    url_key = changed / "url_key.sql"
    text = url_key.read_text(encoding="utf-8")
    body = re.search(r"AS \$\$.*?\$\$", text, re.DOTALL)
    assert body
    url_key.write_text(text.replace(body.group(0), "AS $$ SELECT lower(url) $$"), encoding="utf-8")
    monkeypatch.setattr(db, "FUNCTIONS_DIR", changed)
    with db.connect(dsn) as conn:
        assert db.migrate(conn) == []
        assert conn.execute("SELECT sms_tracking.url_key('https://www.Example.com/a/')").fetchone() == (
            "https://www.example.com/a/",
        )
        recorded = conn.execute(
            "SELECT checksum FROM sms_tracking.schema_migration WHERE version = 'functions/url_key'"
        ).fetchone()
        assert recorded == (hashlib.sha256(url_key.read_bytes()).hexdigest(),)


def test_a_dropped_trigger_of_the_functions_folder_is_restored_by_migrate(dsn: str) -> None:
    trigger = """SELECT count(*) FROM pg_trigger
                  WHERE tgname = 'qualification_reason_check' AND tgrelid = 'sms_tracking.qualification'::regclass"""
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP TRIGGER qualification_reason_check ON sms_tracking.qualification")
        assert conn.execute(trigger).fetchone() == (0,)
    with db.connect(dsn) as conn:
        assert db.migrate(conn) == []
        assert conn.execute(trigger).fetchone() == (1,)


def test_migrate_is_idempotent(dsn: str) -> None:
    with db.connect(dsn) as conn:
        before = (
            stored_functions(conn),
            conn.execute(
                "SELECT version, checksum, applied_at FROM sms_tracking.schema_migration ORDER BY 1"
            ).fetchall(),
        )
        assert db.migrate(conn) == []
        assert db.migrate(conn) == []
        after = (
            stored_functions(conn),
            conn.execute(
                "SELECT version, checksum, applied_at FROM sms_tracking.schema_migration ORDER BY 1"
            ).fetchall(),
        )
    assert after == before


def test_two_migrates_at_once_on_a_fresh_database_serialise(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as gate:
        gate.execute("DROP SCHEMA sms_tracking, sms_tracking_bi, sms_tracking_work CASCADE")
        # Hold the migration lock until both wait for it, so they really start together.
        gate.execute("SELECT pg_advisory_lock(%s)", (db._MIGRATION_LOCK,))
        results: list[list[str]] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with db.connect(dsn) as conn:
                    results.append(db.migrate(conn))
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=run) for _ in range(2)]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 20
        waiting = 0
        while waiting < 2 and time.monotonic() < deadline:
            waiting = gate.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
            ).fetchone()[0]
            time.sleep(0.02)
        gate.execute("SELECT pg_advisory_unlock(%s)", (db._MIGRATION_LOCK,))
        for worker in workers:
            worker.join(60)
        assert waiting == 2
        assert errors == []
        migrations = [path.stem for path in sorted(db.MIGRATIONS_DIR.glob("*.sql"))]
        assert sorted(results, key=len) == [[], migrations]  # the second found everything done
        assert [name for name, _ in stored_functions(gate)] == sorted(
            name for _, name, _ in definitions(db.FUNCTIONS_DIR)
        )


def test_a_changed_migration_is_refused_unless_rewritten_toml_records_the_checksum_it_was_applied_with(
    dsn: str,
) -> None:
    migration, previous = next((name, sums.pop()) for name, sums in db.rewritten_migrations().items())
    current = hashlib.sha256((db.MIGRATIONS_DIR / f"{migration}.sql").read_bytes()).hexdigest()
    with db.connect(dsn) as conn:
        conn.execute("UPDATE sms_tracking.schema_migration SET checksum = 'edited' WHERE version = %s", (migration,))
        conn.commit()
        with pytest.raises(RuntimeError, match=f"migration {migration}.sql was changed after it was applied"):
            db.migrate(conn)
        conn.execute("UPDATE sms_tracking.schema_migration SET checksum = %s WHERE version = %s", (previous, migration))
        conn.commit()
        assert db.migrate(conn) == []
        recorded = conn.execute("SELECT checksum FROM sms_tracking.schema_migration WHERE version = %s", (migration,))
        assert recorded.fetchone() == (current,)


def rewrites() -> list[dict[str, str]]:
    return tomllib.loads((db.MIGRATIONS_DIR / db.REWRITTEN_FILE).read_text(encoding="utf-8"))["rewrite"]


def sql_tree_at(commit: str, into: Path) -> Path:
    """include/sql as the commit holds it (the checkout's own history: a fresh clone has it)."""
    archive = subprocess.run(
        ["git", "-C", str(PROJECT), "archive", commit, "include/sql"], capture_output=True, check=False
    )
    if archive.returncode:
        pytest.skip(f"the checkout's history lacks {commit}: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / "include" / "sql"


def test_each_rewritten_migration_had_the_recorded_checksum_at_the_recorded_commit(tmp_path: Path) -> None:
    for entry in rewrites():
        old = sql_tree_at(entry["commit"], tmp_path / entry["commit"]) / "migrations" / f"{entry['migration']}.sql"
        assert hashlib.sha256(old.read_bytes()).hexdigest() == entry["previous"], entry
        assert (db.MIGRATIONS_DIR / old.name).read_bytes() != old.read_bytes()
        assert entry["reason"].strip()


def schema_dump(dsn: str) -> list[str]:
    """pg_dump's schema of the database (pg_dump reads the catalog whole: tables, views, functions, triggers,
    comments, grants)."""
    params = conninfo_to_dict(dsn)
    env = {**os.environ, "PGPASSWORD": str(params.pop("password", "") or "")}
    out = subprocess.run(
        [str(find_bin_dir() / "pg_dump"), "--schema-only", "--schema=sms_tracking*", make_conninfo(**params)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    noise = ("-- Dumped", "\\restrict", "\\unrestrict")  # versions, and a key pg_dump draws each time
    return [line for line in out.splitlines() if not line.startswith(noise)]


def migrated_with(old: Path, level: int, into: Path) -> Path:
    """The commit's first ``level`` migrations, with no functions or views folder: a database migrated that
    far, by whichever code of its time, held the functions and views those migrations created (the later
    folders only ever replace them)."""
    (into / "migrations").mkdir(parents=True)
    for path in sorted((old / "migrations").glob("*.sql"))[:level]:
        shutil.copy(path, into / "migrations")
    return into


def test_a_database_migrated_before_the_rewrites_upgrades_to_the_schema_of_a_fresh_one(
    postgres_server: str, template_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From each commit a rewrite names: a database migrated by it, and for the oldest, one that stopped just
    before each rewritten migration, upgraded now, has a fresh database's schema and checksums."""
    folders = {"MIGRATIONS_DIR": db.MIGRATIONS_DIR, "FUNCTIONS_DIR": db.FUNCTIONS_DIR, "VIEWS_DIR": db.VIEWS_DIR}
    names = [path.stem for path in sorted(db.MIGRATIONS_DIR.glob("*.sql"))]
    with psycopg.connect(template_dsn) as conn:
        fresh = conn.execute("SELECT version, checksum FROM sms_tracking.schema_migration ORDER BY 1").fetchall()
    fresh_schema = schema_dump(template_dsn)
    commits = sorted({entry["commit"] for entry in rewrites()}, key=lambda c: rewrites()[0]["commit"] != c)
    cases = []
    for number, commit in enumerate(commits):
        old = sql_tree_at(commit, tmp_path / commit)
        cases.append(old)
        if number == 0:
            then = [path.stem for path in sorted((old / "migrations").glob("*.sql"))]
            levels = sorted({then.index(entry["migration"]) for entry in rewrites() if entry["migration"] in then})
            cases += [migrated_with(old, level, tmp_path / f"level{level}") for level in levels]
    name = f"sms_old_{os.getpid()}"
    old_dsn = make_conninfo(**{**conninfo_to_dict(postgres_server), "dbname": name})
    for case in cases:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {name}")
        for folder, now in folders.items():
            monkeypatch.setattr(db, folder, case / now.name)  # a folder the case lacks holds nothing
        with db.connect(old_dsn) as conn:
            migrated_then = db.migrate(conn)
        for folder, now in folders.items():
            monkeypatch.setattr(db, folder, now)
        with db.connect(old_dsn) as conn:
            added_since = db.migrate(conn)
            upgraded = conn.execute("SELECT version, checksum FROM sms_tracking.schema_migration ORDER BY 1")
            assert upgraded.fetchall() == fresh, case
        assert migrated_then + added_since == names, case
        assert schema_dump(old_dsn) == fresh_schema, case
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


VIEW_DEFINITION = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+([\w.]+)", re.IGNORECASE)


def test_each_view_has_one_definition_in_the_views_folder_and_the_database_holds_exactly_those(dsn: str) -> None:
    files = sorted(db.VIEWS_DIR.glob("*.sql"))
    assert [VIEW_DEFINITION.findall(path.read_text(encoding="utf-8")) for path in files] == [
        [path.stem] for path in files
    ]
    elsewhere = {
        (path.parent.name, name)
        for path in db.SQL_DIR.rglob("*.sql")
        if path.parent != db.VIEWS_DIR
        for name in VIEW_DEFINITION.findall(path.read_text(encoding="utf-8"))
    }
    commented = yaml.safe_load((db.VIEWS_DIR / db.VIEW_DICTIONARY).read_text(encoding="utf-8"))
    tables = {name for name in commented if "comment" not in commented[name]}  # columns restating others'
    assert set(commented) - tables <= {path.stem for path in files}
    assert {path.stem for path in files if path.stem.startswith("sms_tracking_bi.")} <= set(commented)
    # The one view migrations still define: 0019 and 0022 read it while migrating, as it was then.
    assert elsewhere == {("migrations", "sms_tracking.report_qualified")}
    with psycopg.connect(dsn) as conn:
        views = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.views "
            "WHERE table_schema LIKE 'sms_tracking%' ORDER BY 1"
        ).fetchall()
        existing = conn.execute("SELECT bool_and(to_regclass(t) IS NOT NULL) FROM unnest(%s::text[]) t", [list(tables)])
        assert existing.fetchone() == (True,)
    assert [view for (view,) in views] == sorted([path.stem for path in files] + ["sms_tracking.report_qualified"])


def view_comment(conn: psycopg.Connection) -> str:
    return conn.execute("SELECT obj_description('sms_tracking_bi.delivery_status'::regclass)").fetchone()[0]


def test_views_are_replaced_when_a_file_changed_or_a_view_is_missing_and_not_on_every_migrate(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.connect(dsn) as conn:
        conn.execute("COMMENT ON VIEW sms_tracking_bi.delivery_status IS 'by hand'")
        conn.commit()
        assert db.migrate(conn) == []
        assert view_comment(conn) == "by hand"  # untouched: a migrate with nothing new takes no view lock
        conn.execute("DROP VIEW sms_tracking_bi.delivery_status")
        conn.commit()
        assert db.migrate(conn) == []
        assert view_comment(conn).startswith("The delivery-log status codes")
    changed = tmp_path / "views"
    shutil.copytree(db.VIEWS_DIR, changed)
    path = changed / db.VIEW_DICTIONARY
    path.write_text(path.read_text(encoding="utf-8").replace("codes are stable", "codes stay"), encoding="utf-8")
    monkeypatch.setattr(db, "VIEWS_DIR", changed)
    with db.connect(dsn) as conn:
        assert db.migrate(conn) == []
        assert "codes stay" in view_comment(conn)
        recorded = conn.execute(
            "SELECT checksum FROM sms_tracking.schema_migration WHERE version = 'views/dictionary'"
        ).fetchone()
        assert recorded == (hashlib.sha256(path.read_bytes()).hexdigest(),)
