"""The delivery journal and the pipeline audit on a real Postgres (docs/audit.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from tests.landing import build_all, run_all as run_pipeline, write

from sms_tracking import audit
from sms_tracking.audit import RunInfo
from sms_tracking.ingest import BatchRejected

pytestmark = pytest.mark.integration

LONG_GSM = "Soldes: " + " ".join(["-30% sur tout le site, livraison offerte."] * 4)
"""175 GSM-7 characters: two segments."""
DELIVERIES = f"""delivery_id,name,sender,content,provider,created_at,scheduled_at,is_proof
A1,Long text,36179,"{LONG_GSM}",smpp,2026-05-04T07:00:00Z,2026-05-04T08:00:00Z,false
A2,Emoji,36179,Votre colis arrive demain 📦 suivez-le sur https://shop.example.com/t,smpp,2026-05-04T07:00:00Z,2026-05-04T08:30:00Z,false
"""
TARGETS = """delivery_id,recipient_id,phone
A1,r1,+33612345601
A1,r2,+33612345602
A2,r1,+33612345601
A2,r3,+33612345603
"""
SENDS = """delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at,segments
A1,r1,+33612345601,smpp,M1,2026-05-04T08:00:00Z,2
A1,r2,+33612345602,smpp,M2,2026-05-04T08:02:00Z,2
A2,r1,+33612345601,smpp,M3,2026-05-04T08:20:00Z,1
A2,r3,+33612345603,smpp,M4,2026-05-04T08:30:00Z,1
"""
# Paris wall time. M2 meets err 077, which no qualification row knows; ZZ9 is not in the send log.
REPORTS_1 = """id:M1 sub:002 dlvrd:000 submit date:2605041000 done date:2605041000 stat:ENROUTE err:000 text:Soldes
id:M1 sub:002 dlvrd:002 submit date:2605041000 done date:2605041001 stat:DELIVRD err:000 text:Soldes
id:M2 sub:002 dlvrd:000 submit date:2605041002 done date:2605041003 stat:UNDELIV err:077 text:Soldes
id:ZZ9 sub:001 dlvrd:001 submit date:2605041000 done date:2605041003 stat:DELIVRD err:000 text:other
"""
REPORTS_2 = """id:M3 sub:001 dlvrd:001 submit date:2605041020 done date:2605041021 stat:DELIVRD err:000 text:Votre
id:M4 sub:001 dlvrd:001 submit date:2605041030 done date:2605041031 stat:DELIVRD err:000 text:Votre
"""


def run_all(dsn: str, run_id: str = "build-1") -> None:
    """One ingest run and one build run, each task journaled under its DAG and run."""
    run_pipeline(
        dsn,
        run_id,
        ("campaign", "smpp_main"),
        run=RunInfo("sms_tracking_ingest", f"ingest-{run_id}", "load_object"),
        dag_id="sms_tracking_build",
    )


def journal(dsn: str, delivery_id: str | None, event: str | None = None) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(
            """SELECT delivery_id, level, event, message, details, dag_id, run_id, task_id, at
                 FROM sms_tracking.audit_event
                WHERE delivery_id IS NOT DISTINCT FROM %s AND (%s::text IS NULL OR event = %s)
                ORDER BY at, event, message""",
            (delivery_id, event, event),
        ).fetchall()


@pytest.fixture
def landing(make_landing: Callable[..., Path]) -> Path:
    return make_landing(
        {
            "deliveries/deliveries.csv": DELIVERIES,
            "targets/targets.csv": TARGETS,
            "sends/sends.csv": SENDS,
            "reports/smpp_main/r1.txt": REPORTS_1,
            "reports/smpp_main/r2.txt": REPORTS_2,
        }
    )


def test_content_over_one_segment_is_a_warning(dsn: str, landing: Path) -> None:
    run_all(dsn)
    [event] = journal(dsn, "A1", "content_segments")
    assert event["level"] == "warning"
    assert event["message"].startswith(
        "Content over one segment: 175 characters (175 septets in GSM-7) take 2 segments per message"
    )
    assert journal(dsn, "A1", "content_ucs2") == []


def test_characters_outside_gsm7_are_warned_with_the_segments_they_cost(dsn: str, landing: Path) -> None:
    run_all(dsn)
    [event] = journal(dsn, "A2", "content_ucs2")
    assert event["level"] == "info"  # 67 characters: one UCS-2 segment all the same
    assert event["details"]["characters"] == "📦"
    write(landing, "deliveries/deliveries.csv", DELIVERIES.replace("demain 📦", "demain 📦" + " vite" * 10))
    run_all(dsn, "build-2")
    latest = journal(dsn, "A2", "content_ucs2")[-1]
    assert latest["level"] == "warning"
    assert latest["details"] | {"key": None} == {
        "key": None,
        "characters": "📦",
        "segments_per_message": 2,
        "segments_if_gsm7": 1,
        "extra_segments_per_message": 1,
        "messages_sent": 2,
    }
    assert latest["message"].endswith(
        "2 segments per message instead of 1, 1 more per message (2 more for the 2 messages sent so far)"
    )


def test_each_report_batch_is_journaled_per_delivery_with_its_runs(dsn: str, landing: Path) -> None:
    run_all(dsn)
    a1 = journal(dsn, "A1", "reports_ingested")
    a2 = journal(dsn, "A2", "reports_ingested")
    assert [e["message"].split(" from ")[0] for e in a1] == ["Reports ingested: 3"]
    assert "2 final (1 delivered, 1 failed), 1 intermediate" in a1[0]["message"]
    assert [e["details"]["uri"].rsplit("/", 1)[-1] for e in a1 + a2] == ["r1.txt", "r2.txt"]
    assert a1[0]["details"]["loaded_by"] == {
        "dag_id": "sms_tracking_ingest",
        "run_id": "ingest-build-1",
        "task_id": "load_object",
    }
    assert (a1[0]["dag_id"], a1[0]["run_id"], a1[0]["task_id"]) == ("sms_tracking_build", "build-1", "audit")


def test_unknown_codes_and_unknown_message_ids_are_warnings(dsn: str, landing: Path) -> None:
    run_all(dsn)
    [code] = journal(dsn, "A1", "unknown_code")
    assert code["level"] == "warning"
    assert code["message"] == (
        "Unknown code met: smpp UNDELIV/77 on 1 message(s), counted Soft / Not defined "
        "until it is qualified (state to_qualify)"
    )
    [orphans] = journal(dsn, None, "reports_unknown_message")
    assert orphans["level"] == "warning"
    assert orphans["message"].startswith("1 of the 4 reports of smpp_main ")
    assert orphans["details"]["uri"].endswith("r1.txt")


def test_send_window_is_journaled_again_when_it_widens(dsn: str, landing: Path) -> None:
    run_all(dsn)
    [first] = journal(dsn, "A2", "send_window")
    assert first["level"] == "warning"  # r1's message left at 08:20, before the scheduled 08:30
    assert first["message"] == (
        "Send window: 2 message(s) submitted from 2026-05-04 08:20:00 UTC to "
        "2026-05-04 08:30:00 UTC, before the scheduled start 2026-05-04 08:30:00 UTC"
    )
    write(landing, "sends/more.csv", SENDS.splitlines()[0] + "\nA1,r2,+33612345602,smpp,M5,2026-05-04T08:40:00Z,2\n")
    run_all(dsn, "build-2")
    windows = journal(dsn, "A1", "send_window")
    assert [e["details"]["messages"] for e in windows] == [2, 3]
    assert windows[-1]["level"] == "info"


def test_validation_passes_then_names_messages_to_excluded_recipients(dsn: str, landing: Path) -> None:
    run_all(dsn)
    [passed] = journal(dsn, "A1", "validation")
    assert passed["level"] == "info"
    assert passed["message"].startswith("Validation passed: 2 message(s) checked")
    # A STOP denylists r3's number; a new delivery still targets and sends to it.
    write(
        landing,
        "inbound/in.csv",
        "provider,provider_message_id,phone,recipient,text,received_at\n"
        "smpp,,33612345603,36179,STOP,2026-05-04T09:00:00Z\n",
    )
    run_all(dsn, "build-2")
    write(
        landing,
        "deliveries/d3.csv",
        "delivery_id,name,sender,content,provider,created_at,scheduled_at,is_proof\n"
        "A3,Again,36179,Hello again,smpp,2026-05-05T07:00:00Z,,false\n",
    )
    write(landing, "targets/t3.csv", "delivery_id,recipient_id,phone\nA3,r3,+33612345603\nA3,r4,\n")
    write(
        landing,
        "sends/s3.csv",
        SENDS.splitlines()[0] + "\n"
        "A3,r3,+33612345603,smpp,M9,2026-05-05T08:00:00Z,2\n"
        "A3,r5,+33612345605,smpp,M10,2026-05-05T08:00:00Z,1\n",
    )
    run_all(dsn, "build-3")
    [found] = journal(dsn, "A3", "validation")
    assert found["level"] == "error"
    assert found["message"] == (
        "Validation found: 1 message(s) to recipients not in the target list; "
        "1 message(s) to excluded recipients (Denylisted 1); 2 message(s) more than recipients to deliver; "
        "1 message(s) whose send-log segments differ from the content's 1"
    )


def test_rejected_lines_and_batches_go_to_the_pipeline_journal(
    dsn: str, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__MAX_REJECT_RATE", "0.3")
    write(landing, "reports/smpp_main/r3.txt", REPORTS_1 + "garbage\n")  # 1 bad line in 5: loaded
    write(landing, "reports/smpp_main/r4.txt", "garbage\nmore garbage\n" + REPORTS_2)  # 2 in 4: rejected
    with pytest.raises(BatchRejected):
        run_all(dsn)
    build_all(dsn, "build-1")
    [lines] = journal(dsn, None, "lines_rejected")
    [batch] = journal(dsn, None, "object_rejected")
    assert (lines["level"], lines["details"]["rows_rejected"], lines["details"]["uri"].rsplit("/", 1)[-1]) == (
        "warning",
        1,
        "r3.txt",
    )
    assert (batch["level"], batch["details"]["uri"].rsplit("/", 1)[-1]) == ("error", "r4.txt")
    assert batch["message"].startswith("Batch rejected: 2 of 4 lines of smpp_main ")


def test_a_rebuild_journals_nothing_twice(dsn: str, landing: Path) -> None:
    run_all(dsn)
    with psycopg.connect(dsn) as conn:
        before = conn.execute("SELECT count(*) FROM sms_tracking.audit_event").fetchone()
        conn.execute("INSERT INTO sms_tracking.pending_delivery SELECT delivery_id FROM sms_tracking.delivery")
        conn.commit()
        run_all(dsn, "build-2")
        after = conn.execute("SELECT count(*) FROM sms_tracking.audit_event").fetchone()
    assert after == before


def test_pipeline_audit_says_when_and_by_which_run_a_file_was_loaded(dsn: str, landing: Path) -> None:
    run_all(dsn)
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        row = conn.execute(
            """SELECT status, size_bytes, checksum, rows_read, rows_loaded, rows_rejected, dag_id, run_id, task_id,
                      finished_at >= started_at AS timed, audited_at IS NOT NULL AS audited
                 FROM sms_tracking.source_object WHERE uri LIKE '%%/r1.txt'"""
        ).fetchone()
    assert row is not None
    assert row | {"checksum": len(row["checksum"])} == {
        "status": "loaded",
        "size_bytes": len(REPORTS_1.encode()),
        "checksum": 64,
        "rows_read": 4,
        "rows_loaded": 4,
        "rows_rejected": 0,
        "dag_id": "sms_tracking_ingest",
        "run_id": "ingest-build-1",
        "task_id": "load_object",
        "timed": True,
        "audited": True,
    }


def test_python_tasks_journal_events_with_their_run(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        audit.write_event(
            conn,
            level="warning",
            event="export_failed",
            message="Send list of D9 not exported",
            delivery_id="D9",
            details={"attempts": 3},
            run=RunInfo("dag", "run", "task"),
        )
        audit.write_event(conn, level="info", event="cleanup", message="Nothing to release")
        conn.commit()
    [event] = journal(dsn, "D9")
    assert (event["level"], event["event"], event["details"], event["dag_id"], event["run_id"], event["task_id"]) == (
        "warning",
        "export_failed",
        {"attempts": 3},
        "dag",
        "run",
        "task",
    )
    [outside] = journal(dsn, None, "cleanup")
    assert (outside["dag_id"], outside["run_id"], outside["task_id"]) == (None, None, None)


def test_an_unknown_level_is_refused(dsn: str) -> None:
    with psycopg.connect(dsn) as conn, pytest.raises(ValueError, match="audit level 'fatal' is not one of info"):
        audit.write_event(conn, level="fatal", event="x", message="y")
