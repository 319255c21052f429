"""bench/dump.py: one landing loaded in two orders dumps the same data lines; a changed value does not.

The orders give the objects, reports and audit events other serial ids and run times, which the dump
normalises; a surrogate key added later (an identity column and a foreign key to it) is normalised too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from bench.dump import compare, dump
from tests.landing import build_all, load_all, write_twilio_landing

from sms_tracking import pipeline

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
PHONES = {"SM1": "+15550401", "SM2": "+15550402", "SM3": "+15550403", "SM4": "+15550404"}
CALLBACKS = {
    # Disjoint messages per file, so each object's load counts are the same in any order.
    "a.txt": (T0 + timedelta(minutes=10), ["MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003"]),
    "b.txt": (
        T0 + timedelta(minutes=5),
        ["MessageSid=SM2&MessageStatus=delivered", "MessageSid=SM3&MessageStatus=sent"],
    ),
    "c.txt": (T0 + timedelta(minutes=20), ["MessageSid=SM4&MessageStatus=delivered"]),
}


@pytest.fixture
def two_databases(dsn: str) -> Iterator[tuple[str, str]]:
    """The test's database and a clone of it, both migrated and empty."""
    base, name = dsn.rsplit("/", 1)
    clone = f"{name}_b"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {clone} TEMPLATE {name}")
    yield dsn, f"{base}/{clone}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {clone} WITH (FORCE)")


def landing(root: Path) -> None:
    write_twilio_landing(root, PHONES, CALLBACKS)


def load_and_build(dsn: str, root: Path, order: list[str], run_id: str) -> None:
    load_all(dsn, ("campaign",))
    for name in order:
        pipeline.load("twilio_callbacks", str(root / "reports" / "twilio_callbacks" / name), dsn=dsn)
    build_all(dsn, run_id)


def test_two_orders_dump_the_same_data_and_a_changed_value_shows(
    two_databases: tuple[str, str], make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    first, second = two_databases
    root = make_landing()
    landing(root)
    load_and_build(first, root, ["a.txt", "b.txt", "c.txt"], "bench")
    load_and_build(second, root, ["c.txt", "b.txt", "a.txt"], "bench")
    ids = []
    for database in (first, second):
        with psycopg.connect(database) as conn:
            query = "SELECT object_id FROM sms_tracking.source_object WHERE uri LIKE '%%/a.txt'"
            ids.append(conn.execute(query).fetchone())
    assert ids[0] != ids[1]  # the orders gave the same file another serial id
    with psycopg.connect(second) as conn:
        # A surrogate key added later, with a foreign key to it, is normalised like the existing ones.
        conn.execute("ALTER TABLE sms_tracking.message ADD COLUMN message_key bigint GENERATED ALWAYS AS IDENTITY")
        conn.execute("ALTER TABLE sms_tracking.message ADD UNIQUE (message_key)")
        conn.execute(
            "ALTER TABLE sms_tracking.delivery_log ADD COLUMN message_key bigint "
            "REFERENCES sms_tracking.message (message_key)"
        )
        conn.execute(
            "UPDATE sms_tracking.delivery_log l SET message_key = m.message_key FROM sms_tracking.message m "
            "WHERE (m.provider, m.provider_message_id) = (l.provider, l.provider_message_id)"
        )
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    digests = dump(first, a), dump(second, b)
    assert compare(a, b) == 0
    assert digests[0] == digests[1]
    text = a.read_text(encoding="utf-8")
    assert "== report (4 rows)" in text and "<landing>/reports/twilio_callbacks/a.txt" in text
    assert str(root) not in text.replace(f"landing folder {root} ", "")
    notes = b.read_text(encoding="utf-8").split("\n== ", 1)[0]
    assert "message.message_key: serial surrogate key" in notes
    assert "delivery_log.message_key: refers to serial message.message_key" in notes

    with psycopg.connect(second) as conn:
        conn.execute("UPDATE sms_tracking.delivery_log SET status = 'failed' WHERE provider_message_id = 'SM4'")
    assert dump(first, a) != dump(second, b)
    assert compare(a, b) == 1
