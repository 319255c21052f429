"""Delivery preparation on a real Postgres: exclusion reasons, the send list and its CSV, two deliveries in a row."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from tests.landing import run_all as run_pipeline, write

from sms_tracking import quarantine
from sms_tracking.exclusions import in_control_group, send_list_name

pytestmark = pytest.mark.integration

DELIVERIES = """delivery_id,name,sender,content,provider,created_at,scheduled_at,is_proof
D1,Spring sale,+15550100,Sale today,twilio,2026-05-04T08:00:00Z,,false
D2,Summer sale,+15550100,Sale again,twilio,2026-05-20T08:00:00Z,,false
P1,Proof,+15550100,Sale today,twilio,2026-05-04T07:00:00Z,,true
"""
SENDS_HEADER = "delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at\n"


@pytest.fixture
def landing(make_landing: Callable[..., Path]) -> Path:
    return make_landing({"deliveries/deliveries.csv": DELIVERIES})


run_all = functools.partial(run_pipeline, sources=("campaign", "twilio_callbacks"))


def targets(*rows: str) -> str:
    return "delivery_id,recipient_id,phone\n" + "".join(f"{row}\n" for row in rows)


def exclusions(dsn: str, delivery: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        return dict(
            conn.execute(
                "SELECT recipient_id, reason FROM sms_tracking.exclusion WHERE delivery_id = %s", (delivery,)
            ).fetchall()
        )


def send_list(dsn: str, delivery: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT recipient_id, phone_e164, flag FROM sms_tracking.send_list WHERE delivery_id = %s ORDER BY 1",
            (delivery,),
        ).fetchall()


def exported(landing: Path, delivery: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((landing / "send_lists" / f"{delivery}.csv").read_text())))


def test_preparation_excludes_with_adobe_reasons_and_exports_the_send_list(dsn: str, landing: Path) -> None:
    quarantine.set_status("+33600000004", "Quarantine", actor="test", dsn=dsn)
    quarantine.set_status("+33600000005", "Denylisted", actor="test", dsn=dsn)
    write(
        landing,
        "targets/d1.csv",
        targets(
            "D1,r01,+33600000001",
            "D1,r02,",
            "D1,r03,not a number",
            "D1,r04,+33 6 00 00 00 04",
            "D1,r05,+33600000005",
            "D1,r07,0033600000001",
            "D1,r08,+33600000008",
        ),
    )
    run_all(dsn)
    assert exclusions(dsn, "D1") == {
        "r02": "Address empty",
        "r03": "Invalid number",
        "r04": "Quarantined",
        "r05": "Denylisted",
        "r07": "Duplicate",
    }
    assert send_list(dsn, "D1") == [("r01", "+33600000001", None), ("r08", "+33600000008", None)]
    assert exported(landing, "D1") == [
        {"delivery_id": "D1", "recipient_id": "r01", "phone_e164": "+33600000001", "flag": ""},
        {"delivery_id": "D1", "recipient_id": "r08", "phone_e164": "+33600000008", "flag": ""},
    ]
    with psycopg.connect(dsn) as conn:
        causes = dict(
            conn.execute(
                "SELECT reason, recipients FROM sms_tracking.exclusion_cause WHERE delivery_id = 'D1'"
            ).fetchall()
        )
        audit = conn.execute(
            "SELECT level, event, message, details FROM sms_tracking.audit_event WHERE delivery_id = 'D1'"
        ).fetchall()
    assert causes == {"Address empty": 1, "Invalid number": 1, "Quarantined": 1, "Denylisted": 1, "Duplicate": 1}
    assert [(a[0], a[1]) for a in audit] == [("info", "prepared")]
    assert audit[0][2] == (
        "7 target recipient(s) prepared: 2 to send, 5 excluded (Address empty 1, Denylisted 1, "
        "Duplicate 1, Invalid number 1, Quarantined 1)"
    )
    assert audit[0][3]["excluded"]["Quarantined"] == 1


def test_delivery_is_prepared_once(dsn: str, landing: Path) -> None:
    write(landing, "targets/d1.csv", targets("D1,r01,+33600000001", "D1,r02,+33600000002"))
    run_all(dsn)
    before = (exclusions(dsn, "D1"), send_list(dsn, "D1"), (landing / "send_lists" / "D1.csv").read_bytes())
    quarantine.set_status("+33600000001", "Quarantine", actor="test", dsn=dsn)
    write(landing, "targets/d1-again.csv", targets("D1,r01,+33600000001", "D1,r02,+33600000002"))
    run_all(dsn)
    run_all(dsn)
    assert (exclusions(dsn, "D1"), send_list(dsn, "D1"), (landing / "send_lists" / "D1.csv").read_bytes()) == before
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM sms_tracking.audit_event WHERE event = 'prepared'").fetchone() == (1,)


def test_later_part_of_a_target_list_is_prepared_against_the_first(dsn: str, landing: Path) -> None:
    write(landing, "targets/part1.csv", targets("D1,r01,+33600000001"))
    run_all(dsn)
    write(landing, "targets/part2.csv", targets("D1,r00,+33600000001", "D1,r09,+33600000009"))
    run_all(dsn)
    assert exclusions(dsn, "D1") == {"r00": "Duplicate"}
    assert [row["recipient_id"] for row in exported(landing, "D1")] == ["r01", "r09"]


def test_target_list_waits_for_its_delivery(dsn: str, landing: Path) -> None:
    write(landing, "targets/d9.csv", targets("D9,r01,+33600000001"))
    run_all(dsn)
    assert send_list(dsn, "D9") == []
    late = DELIVERIES.splitlines()[0] + "\nD9,Late,,Hi,twilio,2026-05-04T08:00:00Z,,false\n"
    write(landing, "deliveries/d9.csv", late)
    run_all(dsn)
    assert send_list(dsn, "D9") == [("r01", "+33600000001", None)]


def test_proof_sends_quarantined_numbers_flagged_but_not_denylisted_ones(
    dsn: str, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__CONTROL_GROUP_PERCENT", "100")
    quarantine.set_status("+33600000004", "Quarantine", actor="test", dsn=dsn)
    quarantine.set_status("+33600000005", "Denylisted", actor="test", dsn=dsn)
    write(landing, "targets/p1.csv", targets("P1,r01,+33600000001", "P1,r04,+33600000004", "P1,r05,+33600000005"))
    run_all(dsn)
    assert exclusions(dsn, "P1") == {"r05": "Denylisted"}
    assert send_list(dsn, "P1") == [("r01", "+33600000001", None), ("r04", "+33600000004", "Quarantine")]
    with psycopg.connect(dsn) as conn:
        level, message = conn.execute(
            "SELECT level, message FROM sms_tracking.audit_event WHERE delivery_id = 'P1'"
        ).fetchone()
    assert level == "warning"
    assert message.endswith("proof sent to 1 number(s) in quarantine")


def test_control_group_draw_is_deterministic_and_matches_python(
    dsn: str, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__CONTROL_GROUP_PERCENT", "30")
    write(landing, "targets/d1.csv", targets(*(f"D1,r{i:03d},+336000{i:05d}" for i in range(300))))
    run_all(dsn)
    drawn = {r for r, reason in exclusions(dsn, "D1").items() if reason == "Control group"}
    assert drawn == {f"r{i:03d}" for i in range(300) if in_control_group("D1", f"r{i:03d}", 3000)}
    assert 60 <= len(drawn) <= 120
    assert len(send_list(dsn, "D1")) == 300 - len(drawn)


def test_send_list_file_name_cannot_leave_its_folder() -> None:
    assert send_list_name("D-1_a.b") == "D-1_a.b.csv"
    assert send_list_name("../../etc/x") == "..%2F..%2Fetc%2Fx.csv"


def test_two_consecutive_deliveries_first_failures_become_second_exclusions(dsn: str, landing: Path) -> None:
    numbers = {f"r{i}": f"+1555020{i:04d}" for i in range(1, 7)}
    write(landing, "targets/d1.csv", targets(*(f"D1,{r},{numbers[r]}" for r in ("r1", "r2", "r3", "r4", "r5"))))
    write(
        landing,
        "sends/d1.csv",
        SENDS_HEADER
        + "".join(f"D1,{r},{numbers[r]},twilio,SM{r},2026-05-04T08:00:00Z\n" for r in ("r1", "r2", "r3", "r4", "r5")),
    )
    write(
        landing,
        "reports/twilio_callbacks/d1.txt",
        "".join(
            f"MessageSid=SM{r}&MessageStatus={status}{code}&RawDlrDoneDate=2605040805\n"
            for r, status, code in (
                ("r1", "delivered", ""),
                ("r2", "undelivered", "&ErrorCode=30005"),  # Hard / User unknown
                ("r3", "undelivered", "&ErrorCode=21610"),  # the recipient had replied STOP at Twilio
                ("r4", "undelivered", "&ErrorCode=30003"),  # Soft / Unreachable: With errors, still sent
                ("r5", "delivered", ""),
            )
        ),
    )
    write(
        landing,
        "inbound/replies.csv",
        "provider,provider_message_id,phone,recipient,text,received_at\n"
        f"twilio,SMin1,{numbers['r5']},+15550100,stop,2026-05-04T09:00:00Z\n",
    )
    run_all(dsn)
    assert exclusions(dsn, "D1") == {}  # prepared before its reports came back
    with psycopg.connect(dsn) as conn:
        states = dict(conn.execute("SELECT phone_e164, status FROM sms_tracking.quarantine").fetchall())
    assert states == {
        numbers["r2"]: "Quarantine",
        numbers["r3"]: "Denylisted",
        numbers["r4"]: "With errors",
        numbers["r5"]: "Denylisted",
    }

    write(landing, "targets/d2.csv", targets(*(f"D2,{r},{numbers[r]}" for r in numbers)))
    run_all(dsn)
    assert exclusions(dsn, "D2") == {"r2": "Quarantined", "r3": "Denylisted", "r5": "Denylisted"}
    assert [row["recipient_id"] for row in exported(landing, "D2")] == ["r1", "r4", "r6"]
    assert [row["recipient_id"] for row in exported(landing, "D1")] == ["r1", "r2", "r3", "r4", "r5"]


def test_send_lists_are_exported_in_batches_each_file_whole(
    dsn: str, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of 2 deliveries, one COPY each, written a row at a time: every file holds exactly its
    delivery's rows, a delivery whose recipients were all excluded gets a header-only file, and the queue
    ends empty."""
    from sms_tracking import exclusions as module

    monkeypatch.setattr(module, "EXPORT_BATCH", 2)
    monkeypatch.setattr(module, "WRITE_ROWS", 1)
    write(
        landing,
        "deliveries/deliveries.csv",
        DELIVERIES
        + "".join(f"{d},Batch {d},+15550100,Hi,twilio,2026-05-04T08:00:00Z,,false\n" for d in ("d3", "D4", "a5")),
    )
    write(
        landing,
        "targets/all.csv",
        targets(
            "D1,r01,+33600000001",
            "D1,r02,+33600000002",
            "D2,r01,",
            "P1,r00,+33600000009",
            "d3,r01,+33600000003",
            "D4,r02,+33600000004",
            "D4,r01,+33600000041",
            "a5,r01,+33600000005",
        ),
    )
    run_all(dsn)
    for delivery, recipients in {
        "D1": ["r01", "r02"],
        "D2": [],
        "P1": ["r00"],
        "d3": ["r01"],
        "D4": ["r01", "r02"],
        "a5": ["r01"],
    }.items():
        rows = exported(landing, delivery)
        assert [row["recipient_id"] for row in rows] == recipients, delivery
        assert {row["delivery_id"] for row in rows} <= {delivery}
        assert (
            (landing / "send_lists" / f"{delivery}.csv")
            .read_text()
            .startswith("delivery_id,recipient_id,phone_e164,flag\n")
        )
    assert not list((landing / "send_lists").glob(".*.part"))
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM sms_tracking.pending_export").fetchone() == (0,)
