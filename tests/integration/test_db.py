"""sms_tracking.db on a real Postgres: statistics refreshed before a build step plans on them."""

from __future__ import annotations

import time

import psycopg
import pytest

from sms_tracking import db

pytestmark = pytest.mark.integration


def modified_since_analyze(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT n_mod_since_analyze FROM pg_stat_user_tables "
                           "WHERE schemaname = 'sms_tracking' AND relname = %s", (table,)).fetchone()
    return int(row[0]) if row else 0


def test_tables_changed_a_lot_are_vacuumed_and_analysed_and_small_changes_are_not(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO sms_tracking.pending_message (provider, provider_message_id) "
                     "SELECT 'smpp', 'M' || n FROM generate_series(1, 5000) AS n")
    deadline = time.monotonic() + 10  # the inserting backend reports its counts as it exits
    while modified_since_analyze(dsn, "pending_message") < 5000 and time.monotonic() < deadline:
        time.sleep(0.1)
    with db.connect(dsn) as conn:
        assert "pending_message" in db.vacuum_analyze_stale(conn)
    with psycopg.connect(dsn) as conn:
        analysed, vacuumed, estimate = conn.execute(
            "SELECT s.last_analyze IS NOT NULL, s.last_vacuum IS NOT NULL, c.reltuples "
            "FROM pg_stat_user_tables s JOIN pg_class c "
            "ON c.oid = s.relid WHERE s.schemaname = 'sms_tracking' AND s.relname = 'pending_message'").fetchone()
        conn.execute("INSERT INTO sms_tracking.pending_message VALUES ('smpp', 'one more')")
    assert analysed and vacuumed and estimate == 5000
    time.sleep(0.5)
    with db.connect(dsn) as conn:
        assert "pending_message" not in db.vacuum_analyze_stale(conn)  # 1 change in 5,001 rows: left to autovacuum


def index_definitions(conn: psycopg.Connection, table: str) -> list[str]:
    return [row[0] for row in conn.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'sms_tracking' AND tablename = %s ORDER BY 1",
        (table,)).fetchall()]


def test_deferred_indexes_are_dropped_for_a_batch_as_large_as_the_table_and_restored(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        before = index_definitions(conn, "quarantine_event")
        deferred = conn.execute(
            "SELECT sms_tracking.defer_indexes('sms_tracking.quarantine_event', 10)").fetchone()[0]
        assert sorted(deferred) == sorted(d for d in before if "UNIQUE" not in d)
        assert len(deferred) == 2
        assert index_definitions(conn, "quarantine_event") == [d for d in before if "UNIQUE" in d]
        conn.execute("SELECT sms_tracking.restore_indexes(%s)", (deferred,))
        assert index_definitions(conn, "quarantine_event") == before
        conn.rollback()
        # A table holding more rows than the batch keeps its indexes.
        conn.execute("INSERT INTO sms_tracking.quarantine_event (event_key, phone_e164, at, kind, cause_kind) "
                     "SELECT 'user:' || n, '+3361234567' || n, now(), 'hard', 'user' "
                     "FROM generate_series(1, 3) AS n")
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
