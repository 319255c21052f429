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


def test_tables_changed_a_lot_are_analysed_and_small_changes_are_not(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO sms_tracking.pending_message (provider, provider_message_id) "
                     "SELECT 'smpp', 'M' || n FROM generate_series(1, 5000) AS n")
    deadline = time.monotonic() + 10  # the inserting backend reports its counts as it exits
    while modified_since_analyze(dsn, "pending_message") < 5000 and time.monotonic() < deadline:
        time.sleep(0.1)
    with db.connect(dsn) as conn:
        assert "pending_message" in db.analyze_stale(conn)
    with psycopg.connect(dsn) as conn:
        analysed, estimate = conn.execute(
            "SELECT s.last_analyze IS NOT NULL, c.reltuples FROM pg_stat_user_tables s JOIN pg_class c "
            "ON c.oid = s.relid WHERE s.schemaname = 'sms_tracking' AND s.relname = 'pending_message'").fetchone()
        conn.execute("INSERT INTO sms_tracking.pending_message VALUES ('smpp', 'one more')")
    assert analysed and estimate == 5000
    time.sleep(0.5)
    with db.connect(dsn) as conn:
        assert "pending_message" not in db.analyze_stale(conn)  # 1 change in 5,001 rows: left to autovacuum
