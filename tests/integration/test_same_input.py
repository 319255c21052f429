"""Same input, same tables: one landing folder loaded in several orders and batchings gives identical tables.

The same Twilio callback without a time of its own (no ``RawDlrDoneDate``) arrives in three files; each
copy is timed by its file's arrival, and the earliest arrival is the one kept (issue 17 point 8).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.landing import build_all, load_all, write_twilio_landing

from sms_tracking import pipeline

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
CALLBACKS = {
    # file: (its arrival, its lines). SM1's failure is in all three, SM2's success in a and c, SM3's unknown
    # code in b and c; SM4 is sent in a and delivered in b. No line carries a time of its own.
    "a.txt": (
        T0 + timedelta(minutes=10),
        [
            "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003",
            "MessageSid=SM2&MessageStatus=delivered",
            "MessageSid=SM4&MessageStatus=sent",
            "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003",
        ],
    ),
    "b.txt": (
        T0 + timedelta(minutes=5),
        [
            "MessageSid=SM3&MessageStatus=undelivered&ErrorCode=30099",
            "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003",
            "MessageSid=SM4&MessageStatus=delivered",
        ],
    ),
    "c.txt": (
        T0 + timedelta(minutes=20),
        [
            "MessageSid=SM2&MessageStatus=delivered",
            "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003",
            "MessageSid=SM3&MessageStatus=undelivered&ErrorCode=30099",
        ],
    ),
}
PHONES = {"SM1": "+15550401", "SM2": "+15550402", "SM3": "+15550403", "SM4": "+15550404"}
BATCHINGS = [
    [["a.txt", "b.txt", "c.txt"]],
    [["c.txt"], ["b.txt"], ["a.txt"]],
    [["b.txt", "c.txt"], ["a.txt"]],
    [["a.txt"], ["c.txt", "b.txt"]],
]
# Bookkeeping of the loads and builds themselves, not data: the journal (run ids, times), each object's load
# counts (how many duplicates it met depends on what was there before it) and the validation runs.
NOT_DATA = {
    "audit_event",
    "source_object",
    "schema_migration",
    "validated_object",
    "validation_result",
    "build_watermark",
    "source_watermark",
}
# Surrogate keys (replaced by what they name) and the times a build ran.
RUN_COLUMNS = {"refreshed_at", "refreshed_by_run", "updated_at", "qualified_at", "audited_at", "id"}


def landing(root: Path) -> None:
    """The landing folder: the campaign and the three callback files, each with its own arrival time."""
    write_twilio_landing(root, PHONES, CALLBACKS)


def load_and_build(dsn: str, root: Path, batches: list[list[str]]) -> None:
    """Each batch: its files loaded in the given order, then the whole build (the campaign comes first)."""
    load_all(dsn, ("campaign",))
    for n, batch in enumerate(batches):
        for name in batch:
            pipeline.load("twilio_callbacks", str(root / "reports" / "twilio_callbacks" / name), dsn=dsn)
        build_all(dsn, f"build-{n}")


def dump(dsn: str) -> dict[str, list[str]]:
    """Every table of the schema but the bookkeeping ones, rows sorted, surrogate keys replaced by what they name."""
    with psycopg.connect(dsn) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'sms_tracking'"
                " AND table_type = 'BASE TABLE' ORDER BY 1"
            )
            if name not in NOT_DATA
        ]
        uris = dict(conn.execute("SELECT object_id, uri FROM sms_tracking.source_object").fetchall())
        reports = {
            report_id: f"{provider}:{message}:{status}:{code}:{event_at}"
            for report_id, provider, message, status, code, event_at in conn.execute(
                "SELECT report_id, provider, provider_message_id, raw_status, error_code, event_at"
                " FROM sms_tracking.report"
            )
        }
        result: dict[str, list[str]] = {}
        for table in tables:
            rows: list[str] = []
            for (stored,) in conn.execute(f"SELECT to_jsonb(t) FROM sms_tracking.{table} t"):
                row: dict[str, Any] = {key: value for key, value in stored.items() if key not in RUN_COLUMNS}
                if "object_id" in row:
                    row["object_id"] = uris.get(row["object_id"], row["object_id"])
                if "report_id" in row:
                    row["report_id"] = reports.get(row["report_id"], row["report_id"])
                rows.append(json.dumps(row, sort_keys=True, default=str))
            result[table] = sorted(rows)
    return result


def test_one_landing_folder_in_any_order_and_batches_gives_identical_tables(
    dsn: str, make_landing: Callable[..., Path]
) -> None:
    root = make_landing()
    landing(root)
    # One fresh database per batching, cloned from the test's own (migrated and seeded, nothing loaded).
    fresh, dumps = dsn.rsplit("/", 1), []
    for n, batches in enumerate(BATCHINGS):
        name = f"{fresh[1]}_{n}"
        with psycopg.connect(dsn.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {fresh[1]}")
        try:
            load_and_build(f"{fresh[0]}/{name}", root, batches)
            dumps.append(dump(f"{fresh[0]}/{name}"))
        finally:
            with psycopg.connect(dsn.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    first = dumps[0]
    for batches, other in zip(BATCHINGS[1:], dumps[1:], strict=True):
        for table in first:
            assert other[table] == first[table], f"{table} differs when loaded as {batches}"
    # The earliest arrival is kept: SM1's failure is b.txt's (5 min), SM2's success a.txt's (10 min).
    log = {json.loads(row)["provider_message_id"]: json.loads(row) for row in first["delivery_log"]}
    assert (log["SM1"]["status"], log["SM1"]["done_at"]) == ("failed", "2026-05-04T08:05:00+00:00")
    assert (log["SM2"]["status"], log["SM2"]["done_at"]) == ("delivered", "2026-05-04T08:10:00+00:00")
    reports = [json.loads(row) for row in first["report"]]
    assert sorted((r["provider_message_id"], r["object_id"].rsplit("/", 1)[-1]) for r in reports) == [
        ("SM1", "b.txt"),
        ("SM2", "a.txt"),
        ("SM3", "b.txt"),
        ("SM4", "a.txt"),
        ("SM4", "b.txt"),
    ]
