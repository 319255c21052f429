"""Twilio's own API fixtures, Airbyte's records and Fivetran's export, through load and build."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from tests.landing import run_all
from tests.project import SAMPLES

pytestmark = pytest.mark.integration

SOURCES = """sources:
  - {name: twilio_api, provider: twilio, format: twilio_json, path: reports/twilio_api}
  - {name: twilio_fivetran, provider: twilio, format: twilio_csv, path: reports/twilio_fivetran}
"""


def sids() -> list[tuple[str, str]]:
    """(sid, date_sent) of every outbound message of the three sample files."""
    found: dict[str, str] = {}
    for line in (SAMPLES / "twilio_api_examples" / "messages.jsonl").read_text().splitlines():
        message = json.loads(line)["message"]
        if message["direction"] != "inbound":
            found.setdefault(message["sid"], "2015-07-30T20:12:31Z")
    for line in (SAMPLES / "airbyte_source_twilio" / "messages.jsonl").read_text().splitlines():
        found.setdefault(json.loads(line)["data"]["sid"], "2023-02-14T14:03:12Z")
    with (SAMPLES / "fivetran_twilio_seeds" / "twilio_message_data.csv").open() as handle:
        for row in csv.DictReader(handle):
            found.setdefault(row["id"], "2023-05-09T23:17:40Z")
    return sorted(found.items())


@pytest.fixture
def landing(make_landing: Callable[..., Path]) -> Path:
    root = make_landing(sources=SOURCES)
    (root / "reports" / "twilio_api").mkdir(parents=True)
    (root / "reports" / "twilio_fivetran").mkdir(parents=True)
    (root / "sends").mkdir()
    shutil.copy(SAMPLES / "twilio_api_examples" / "messages.jsonl", root / "reports" / "twilio_api" / "fixtures.jsonl")
    shutil.copy(SAMPLES / "airbyte_source_twilio" / "messages.jsonl", root / "reports" / "twilio_api" / "airbyte.jsonl")
    shutil.copy(SAMPLES / "fivetran_twilio_seeds" / "twilio_message_data.csv",
                root / "reports" / "twilio_fivetran" / "message.csv")
    lines = ["delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at,segments"]
    lines += [f"T1,r{i},+14155552345,twilio,{sid},{sent},1" for i, (sid, sent) in enumerate(sids())]
    (root / "sends" / "sends.csv").write_text("\n".join(lines) + "\n")
    return root


def test_twilio_samples_give_the_statuses_their_sources_show(dsn: str, landing: Path) -> None:
    for result in run_all(dsn, "samples", ("campaign", "twilio_api", "twilio_fivetran")):
        assert result["rows_rejected"] == 0, result
    with psycopg.connect(dsn) as conn:
        log = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT provider_message_id, status, failure_type, failure_reason, raw_status, price "
                "FROM sms_tracking.delivery_log"
            )
        }
        inbound = conn.execute(
            "SELECT provider_message_id, phone_e164, price, price_unit, error_code FROM sms_tracking.inbound_message"
        ).fetchall()
    # SMb7c0...: sent with 30007, then canceled an hour later: the final status wins, and a cancelled message
    # is Adobe's Delivery cancelled: no failure type or reason (decision 11).
    assert log["SMb7c0a2ce80504485a6f653a7110836f5"][:4] == ("cancelled", None, None, "canceled")
    # Fivetran's ten rows are all delivered, with their price as a cost.
    fivetran = [v for k, v in log.items() if v[3] == "delivered"]
    assert len(fivetran) == 10 and {float(v[4]) for v in fivetran} == {0.0158}
    # Sent, queued and scheduled are intermediate: the message is still pending.
    assert log["SMded05904ccb347238880ca9264e8fe1c"][0] == "pending"
    assert all(v[0] == "pending" for k, v in log.items() if k.startswith("MMfba") or v[3] in ("sent", "scheduled"))
    # The inbound MMS of the fixtures is stored as an inbound message, not as a report.
    assert [row[0][:5] for row in inbound] == ["MMc26"]
    # It keeps its price (Twilio writes the cost negative) and its error code, so inbound spend is counted.
    assert [(str(row[2]), row[3], row[4]) for row in inbound] == [("0.00750", "USD", "30004")]


def test_a_cancelled_message_is_delivery_cancelled_not_an_error(dsn: str, landing: Path) -> None:
    """Adobe's delivery log: Delivery cancelled is a status of its own, neither Failed nor in Errors, and
    a cancelled message never quarantines its number (decision 11)."""
    run_all(dsn, "samples", ("campaign", "twilio_api", "twilio_fivetran"))
    with psycopg.connect(dsn) as conn:
        summary = conn.execute(
            "SELECT sent, delivered, failed, pending, cancelled, processed, success, hard + soft + ignored"
            " FROM sms_tracking.delivery_summary WHERE delivery_id = 'T1'"
        ).fetchone()
        log = conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'cancelled'), count(*) FILTER (WHERE status = 'failed')"
            " FROM sms_tracking.delivery_log WHERE delivery_id = 'T1'"
        ).fetchone()
        failures = conn.execute(
            "SELECT coalesce(sum(messages), 0) FROM sms_tracking.delivery_failure_summary WHERE delivery_id = 'T1'"
        ).fetchone()
        bi = conn.execute(
            "SELECT status, status_label FROM sms_tracking_bi.delivery_log"
            " WHERE provider_message_id = 'SMb7c0a2ce80504485a6f653a7110836f5'"
        ).fetchone()
        daily = conn.execute("SELECT sum(cancelled), sum(failed) FROM sms_tracking_bi.daily_provider").fetchone()
        events = conn.execute(
            "SELECT count(*) FROM sms_tracking.quarantine_event"
            " WHERE provider_message_id = 'SMb7c0a2ce80504485a6f653a7110836f5'"
        ).fetchone()
    assert summary is not None and log is not None
    sent, delivered, failed, pending, cancelled, processed, success, typed = summary
    assert (cancelled, failed) == (log[0], log[1]) and cancelled >= 1
    assert sent == delivered + failed + pending + cancelled
    assert processed == success + failed == sent - cancelled
    assert typed == failed and failures == (failed,)
    assert bi == ("cancelled", "Delivery cancelled")
    assert daily == (cancelled, failed)
    assert events == (0,)


def test_the_migration_makes_existing_cancellations_delivery_cancelled(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before 0025 cancellations were failures, Ignored / Error ignored: their seed and auto rows become
    outcome cancelled and their messages are re-queued for the next build; other rows are left alone."""
    from sms_tracking import db

    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for path in sorted(db.MIGRATIONS_DIR.glob("*.sql")):
        if path.stem < "0025":
            shutil.copy(path, migrations / path.name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA sms_tracking, sms_tracking_bi, sms_tracking_work CASCADE")
    with monkeypatch.context() as patched, db.connect(dsn) as conn:
        patched.setattr(db, "MIGRATIONS_DIR", migrations)
        db.migrate(conn)
        conn.execute(
            """INSERT INTO sms_tracking.qualification
                   (provider, raw_status, error_code, outcome, is_final, failure_type, failure_reason, origin)
               VALUES ('twilio', 'canceled', '*', 'failed', true, 'Ignored', 'Error ignored', 'seed'),
                      ('twilio', 'canceled', '30007', 'failed', true, 'Ignored', 'Error ignored', 'auto'),
                      ('sinch', 'Aborted', '*', 'failed', true, 'Ignored', 'Error ignored', 'seed'),
                      ('twilio', 'undelivered', '30005', 'failed', true, 'Hard', 'User unknown', 'seed')"""
        )
        conn.execute(
            """INSERT INTO sms_tracking.delivery_log
                   (provider, provider_message_id, delivery_id, recipient_id, status, is_final, failure_type,
                    failure_reason, raw_status, submitted_at, report_count, segments)
               VALUES ('twilio', 'SMc', 'D1', 'r1', 'failed', true, 'Ignored', 'Error ignored', 'canceled',
                       now(), 1, 1),
                      ('twilio', 'SMu', 'D1', 'r2', 'failed', true, 'Hard', 'User unknown', 'undelivered',
                       now(), 1, 1)"""
        )
        conn.commit()
    with db.connect(dsn) as conn:
        assert "0025_delivery_cancelled" in db.migrate(conn)
        rows = conn.execute(
            "SELECT provider, raw_status, error_code, outcome, failure_type, failure_reason"
            " FROM sms_tracking.qualification WHERE origin IN ('seed', 'auto')"
            " AND raw_status IN ('canceled', 'Aborted', 'undelivered') AND error_code IN ('*', '30007', '30005')"
            " ORDER BY 1, 2, 3"
        ).fetchall()
        queued = conn.execute("SELECT provider_message_id FROM sms_tracking.pending_message").fetchall()
    assert rows == [
        ("sinch", "Aborted", "*", "cancelled", None, None),
        ("twilio", "canceled", "*", "cancelled", None, None),
        ("twilio", "canceled", "30007", "cancelled", None, None),
        ("twilio", "undelivered", "30005", "failed", "Hard", "User unknown"),
    ]
    assert queued == [("SMc",)]
