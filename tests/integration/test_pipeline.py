"""Load and build on a real Postgres: precedence, dedup, rejects, idempotent re-runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.landing import build_all, load_all, run_all, write

from sms_tracking import pipeline
from sms_tracking.ingest import BatchRejected

pytestmark = pytest.mark.integration

DELIVERIES = """delivery_id,name,sender,content,provider,created_at,scheduled_at,is_proof
D1,Spring sale,SHOP,Sale today https://shop.example.com/s,smpp,2026-05-04T08:00:00Z,2026-05-04T08:00:00Z,false
D2,Twilio promo,+15550100,Hello,twilio,2026-05-04T09:00:00Z,,false
"""
SENDS = """delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at,segments
D1,r1,+33612345678,smpp,A1,2026-05-04T08:00:00Z,1
D1,r2,+33612345679,smpp,A2,2026-05-04T08:00:01Z,1
D1,r3,+33612345680,smpp,A3,2026-05-04T08:00:02Z,2
D1,r4,+33612345681,smpp,A4,2026-05-04T08:00:03Z,1
D2,r5,+15550199,twilio,SM1,2026-05-04T09:00:00Z,1
D2,r6,+15550198,twilio,SM2,2026-05-04T09:00:00Z,1
"""
# Times are Europe/Paris wall time (the source's tz): 1012 = 08:12 UTC in May.
SMPP = """id:A1 sub:001 dlvrd:001 submit date:2605041000 done date:2605041012 stat:DELIVRD err:000 text:Sale today
id:A1 sub:001 dlvrd:000 submit date:2605041000 done date:2605041001 stat:ACCEPTD err:000 text:Sale today
id:A2 sub:001 dlvrd:000 submit date:2605041000 done date:2605041005 stat:UNDELIV err:005 text:Sale today
id:A3 sub:001 dlvrd:000 submit date:2605041000 done date:2605041002 stat:ENROUTE err:000 text:Sale today
id:A4 sub:001 dlvrd:000 submit date:2605041000 done date:2605041003 stat:UNDELIV err:077 text:Sale today
id:A4 sub:001 dlvrd:001 submit date:2605041000 done date:2605041103 stat:DELIVRD err:000 text:Sale today
id:ZZ9 sub:001 dlvrd:001 submit date:2605041000 done date:2605041003 stat:DELIVRD err:000 text:orphan
"""
TWILIO = """MessageSid=SM1&MessageStatus=sent&To=%2B15550199&RawDlrDoneDate=2605040901
MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30005&To=%2B15550199&RawDlrDoneDate=2605040905
MessageSid=SM2&MessageStatus=delivered&To=%2B15550198&RawDlrDoneDate=2605040903
MessageSid=SM2&MessageStatus=sent&To=%2B15550198&RawDlrDoneDate=2605040904
"""


FILES = {
    "deliveries/deliveries.csv": DELIVERIES,
    "sends/sends.csv": SENDS,
    "reports/smpp_main/r1.txt": SMPP,
    "reports/twilio_callbacks/c1.txt": TWILIO,
}


@pytest.fixture
def landing(make_landing: Callable[..., Path]) -> Path:
    return make_landing(FILES)


def snapshot(dsn: str) -> dict[str, list[tuple]]:
    tables = {
        "delivery_log": "SELECT * FROM sms_tracking.delivery_log ORDER BY provider, provider_message_id",
        "summary": "SELECT delivery_id, sent, delivered, failed, pending, success, hard, soft, ignored, segments "
        "FROM sms_tracking.delivery_summary ORDER BY delivery_id",
        "report": "SELECT provider, provider_message_id, raw_status, error_code, event_at FROM sms_tracking.report "
        "ORDER BY 1, 2, 3, 4, 5",
        "qualification": "SELECT provider, raw_status, error_code, state, occurrences FROM sms_tracking.qualification "
        "ORDER BY 1, 2, 3",
        "reject": "SELECT source, position, reason FROM sms_tracking.reject ORDER BY 1, 2",
    }
    with psycopg.connect(dsn) as conn:
        return {name: conn.execute(sql).fetchall() for name, sql in tables.items()}


def log_rows(dsn: str) -> dict[str, tuple]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT provider_message_id, status, failure_type, failure_reason, raw_status, error_code, done_at::text "
            "FROM sms_tracking.delivery_log"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_final_status_precedence_and_qualification(dsn: str, landing: Path) -> None:
    run_all(dsn)
    log = log_rows(dsn)
    # An intermediate report read after the final one does not replace it.
    assert log["A1"][:2] == ("delivered", None)
    assert log["A1"][5] == "2026-05-04 08:12:00+00"
    assert log["A2"][:3] == ("failed", "Hard", "User unknown")
    assert log["A3"][:1] == ("pending",) and log["A3"][5] is None
    # Between two finals the later one wins.
    assert log["A4"][0] == "delivered"
    assert log["SM1"][:3] == ("failed", "Hard", "User unknown")
    assert log["SM2"][0] == "delivered"


def test_a_first_load_builds_the_log_indexes_after_its_rows(dsn: str, landing: Path) -> None:
    """The first build's batch is larger than the (empty) log: its secondary indexes are dropped and built
    again after the insert, the same definitions under the same names, and the step still counts its rows.
    A later small batch keeps them (same index objects)."""
    indexes = (
        "SELECT indexname, indexdef, (quote_ident(schemaname) || '.' || quote_ident(indexname))::regclass::oid "
        "FROM pg_indexes WHERE schemaname = 'sms_tracking' AND tablename = 'delivery_log' ORDER BY 1"
    )

    def build_log() -> tuple[int, list[tuple], list[tuple]]:
        with psycopg.connect(dsn) as conn:
            before = conn.execute(indexes).fetchall()
        rows = pipeline.build_step("delivery_log", run_id="test", dsn=dsn)["rows"]
        with psycopg.connect(dsn) as conn:
            return rows, before, conn.execute(indexes).fetchall()

    load_all(dsn)
    build_all(dsn, steps=pipeline.BUILD_STEPS[: pipeline.BUILD_STEPS.index("delivery_log")])
    rows, before, after = build_log()
    with psycopg.connect(dsn) as conn:
        assert rows == conn.execute("SELECT count(*) FROM sms_tracking.delivery_log").fetchone()[0] > 1  # type: ignore[index]
        conn.execute(
            "INSERT INTO sms_tracking.pending_message SELECT provider, provider_message_id "
            "FROM sms_tracking.message ORDER BY 1, 2 LIMIT 1"
        )
    assert [i[:2] for i in after] == [i[:2] for i in before] and len(after) > 1
    rebuilt = {i[0] for i in after} - {i[0] for i in after if i in before}
    assert rebuilt == {i[0] for i in after} - {"delivery_log_pkey"}
    _, before, after = build_log()  # one message: a batch smaller than the log
    assert after == before


def test_build_steps_run_with_their_session_settings(dsn: str, landing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each step's statements run with the pipeline's session settings (db.session_settings: no JIT, 1M-row
    sorts and index builds in memory)."""
    from sms_tracking import db

    seen: dict[str, dict[str, str]] = {}
    run_sql_file = db.run_sql_file

    def spy(conn: psycopg.Connection[Any], relative: str, params: Any = None) -> int:
        names = ("jit", "work_mem", "maintenance_work_mem")
        seen[relative] = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in names}  # type: ignore[index]
        return run_sql_file(conn, relative, params)

    load_all(dsn)
    monkeypatch.setattr(db, "run_sql_file", spy)
    pipeline.build_step("qualify", run_id="test", dsn=dsn)
    assert seen == {"build/qualify.sql": {"jit": "off", "work_mem": "64MB", "maintenance_work_mem": "256MB"}}


def test_a_first_sends_file_builds_the_message_indexes_after_its_rows(dsn: str, landing: Path) -> None:
    """The campaign's first sends file is larger than the (empty) message table: its secondary indexes are
    dropped and built again after the insert, the same definitions under the same names. A later small sends
    file keeps them."""
    indexes = (
        "SELECT indexname, indexdef, (quote_ident(schemaname) || '.' || quote_ident(indexname))::regclass::oid "
        "FROM pg_indexes WHERE schemaname = 'sms_tracking' AND tablename = 'message' ORDER BY 1"
    )

    def load_sends() -> tuple[dict[str, Any], list[tuple], list[tuple]]:
        with psycopg.connect(dsn) as conn:
            before = conn.execute(indexes).fetchall()
        (uri,) = pipeline.pending_objects("campaign", dsn=dsn)
        result = pipeline.load("campaign", uri, dsn=dsn)
        with psycopg.connect(dsn) as conn:
            return result, before, conn.execute(indexes).fetchall()

    for relative in FILES:
        if relative != "sends/sends.csv":
            (landing / relative).unlink()
    result, before, after = load_sends()
    assert result["rows_loaded"] == 6
    assert [i[:2] for i in after] == [i[:2] for i in before] and len(after) > 1
    assert {i[0] for i in after if i not in before} == {i[0] for i in after} - {"message_pkey"}
    write(landing, "sends/sends-2.csv", SENDS.splitlines()[0] + "\nD2,r7,+15550197,twilio,SM3,2026-05-04T09:00:00Z,1\n")
    result, before, after = load_sends()  # one message against 6 stored
    assert result["rows_loaded"] == 1
    assert after == before


def test_reports_stored_already_queue_no_message(dsn: str, landing: Path) -> None:
    """An object whose reports are all stored (the same file under another name) changes no message: the
    build's queue gets none of them; a new report queues its message once."""
    run_all(dsn)
    write(landing, "reports/smpp_main/r1-copy.txt", SMPP)
    write(
        landing,
        "reports/smpp_main/r2.txt",
        SMPP + SMPP.splitlines()[0].replace("done date:2605041012", "done date:2605041013") + "\n",
    )
    results = load_all(dsn, ["smpp_main"])
    assert sorted((r["rows_loaded"], r["rows_duplicate"]) for r in results) == [(0, 7), (1, 7)]
    with psycopg.connect(dsn) as conn:
        # Queued for its new report alone: the build takes the message's columns from its log row.
        queued = conn.execute("SELECT provider, provider_message_id, message_changed FROM sms_tracking.pending_message")
        assert queued.fetchall() == [("smpp", "A1", False)]


def test_a_small_batch_reads_only_its_own_reports(dsn: str, landing: Path) -> None:
    """Rebuilding a few log rows reads those messages' reports by key, not the report table: the step's cost
    follows the new data, not the history (issue 19's incremental row: on a 3M history the outer join straight
    onto the qualified reports hashed all 4.7M of them for 10,000 messages)."""
    run_all(dsn)
    read = (
        "SELECT seq_tup_read + coalesce(idx_tup_fetch, 0), idx_scan FROM pg_stat_user_tables "
        "WHERE relid = 'sms_tracking.report'::regclass"
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        # A history: 20,000 more messages like A1, one report each; 100 of them and A1 are queued.
        conn.execute(
            "INSERT INTO sms_tracking.message SELECT provider, 'H' || g, delivery_id, recipient_id, phone_raw, "
            "phone_e164, submitted_at, segments, object_id FROM sms_tracking.message, generate_series(1, 20000) g "
            "WHERE provider_message_id = 'A1'"
        )
        conn.execute(
            "INSERT INTO sms_tracking.report (provider, provider_message_id, raw_status, received_at, raw_text, "
            "object_id, position) SELECT provider, 'H' || g, raw_status, received_at, raw_text, object_id, 1000 + g "
            "FROM (SELECT * FROM sms_tracking.report WHERE provider_message_id = 'A1' LIMIT 1) r, "
            "generate_series(1, 20000) g"
        )
        conn.execute("ANALYZE sms_tracking.message, sms_tracking.report")
        conn.execute(
            "INSERT INTO sms_tracking.pending_message (provider, provider_message_id) "
            "SELECT 'smpp', 'H' || g FROM generate_series(1, 100) g UNION ALL SELECT 'smpp', 'A1'"
        )
        before = conn.execute(read).fetchone()
        assert before is not None
        pipeline.build_step("delivery_log", run_id="test", dsn=dsn)
        deadline = time.monotonic() + 10  # the step's backend reports its counts when it ends
        while (after := conn.execute(read).fetchone()) == before and time.monotonic() < deadline:
            time.sleep(0.1)
    assert after is not None and after[1] > before[1]  # the step probed the report table's index
    assert after[0] - before[0] < 1000  # and read its 102 reports, not the 20,000 others
    assert log_rows(dsn)["A1"][0] == "delivered"


def test_a_first_load_does_not_wait_for_a_reader_of_the_log(dsn: str, landing: Path) -> None:
    """A reader holds the log (an open BI transaction): the first load's build neither waits for it nor
    makes it wait; the batch goes in with the indexes maintained (the same index objects)."""
    load_all(dsn)
    build_all(dsn, steps=pipeline.BUILD_STEPS[: pipeline.BUILD_STEPS.index("delivery_log")])
    indexes = (
        "SELECT indexname, (quote_ident(schemaname) || '.' || quote_ident(indexname))::regclass::oid "
        "FROM pg_indexes WHERE schemaname = 'sms_tracking' AND tablename = 'delivery_log' ORDER BY 1"
    )
    with psycopg.connect(dsn) as reader:
        before = reader.execute(indexes).fetchall()
        assert reader.execute("SELECT count(*) FROM sms_tracking.delivery_log").fetchone() == (0,)
        # reader's transaction stays open: it holds the log's ACCESS SHARE lock during the build
        with ThreadPoolExecutor(1) as pool:
            build = pool.submit(pipeline.build_step, "delivery_log", run_id="test", dsn=dsn)
            try:
                result = build.result(timeout=60)
            finally:
                waited = not build.done()
                reader.rollback()  # lets a waiting build finish, so a failure does not hang the suite
        assert not waited, "the build waited for the reader's lock"
        assert reader.execute(indexes).fetchall() == before
    with psycopg.connect(dsn) as conn:
        assert result["rows"] == conn.execute("SELECT count(*) FROM sms_tracking.delivery_log").fetchone()[0] > 1  # type: ignore[index]


def test_unknown_code_is_flagged_to_qualify_and_counted(dsn: str, landing: Path) -> None:
    run_all(dsn)
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT outcome, failure_type, failure_reason, state, origin, occurrences, first_text "
            "FROM sms_tracking.qualification WHERE provider = 'smpp' AND raw_status = 'UNDELIV' AND error_code = '77'"
        ).fetchone()
    assert row is not None
    assert row[:6] == ("failed", "Soft", "Not defined", "to_qualify", "auto", 1)
    assert "err:077" in row[6]


def test_summary_counts_each_delivery(dsn: str, landing: Path) -> None:
    run_all(dsn)
    summary = {row[0]: row[1:] for row in snapshot(dsn)["summary"]}
    # sent, delivered, failed, pending, success, hard, soft, ignored, segments
    assert summary["D1"] == (4, 2, 1, 1, 3, 1, 0, 0, 5)
    assert summary["D2"] == (2, 1, 1, 0, 1, 1, 0, 0, 2)


def test_orphan_report_is_stored_but_not_in_the_log(dsn: str, landing: Path) -> None:
    run_all(dsn)
    tables = snapshot(dsn)
    assert any(r[1] == "ZZ9" for r in tables["report"])
    assert "ZZ9" not in log_rows(dsn)


def test_rerun_and_same_file_under_another_name_change_nothing(dsn: str, landing: Path) -> None:
    run_all(dsn)
    before = snapshot(dsn)
    assert run_all(dsn) == []  # nothing pending: every object was loaded with this content
    write(landing, "reports/smpp_main/r1-copy.txt", SMPP)
    results = run_all(dsn)
    assert [(r["rows_loaded"], r["rows_duplicate"]) for r in results] == [(0, 7)]
    after = snapshot(dsn)
    assert after["delivery_log"] == before["delivery_log"]
    assert after["report"] == before["report"]
    assert after["summary"] == before["summary"]


def test_pending_objects_reads_only_objects_whose_size_or_time_changed(
    dsn: str, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from sms_tracking import ingest

    run_all(dsn)
    read: list[str] = []
    real_checksum = ingest.checksum

    def counting_checksum(path: Any) -> tuple[str, int]:
        read.append(path.name)
        return real_checksum(path)

    monkeypatch.setattr(ingest, "checksum", counting_checksum)
    assert pipeline.pending_objects("smpp_main", dsn=dsn) == []
    assert read == []  # unchanged size and time: not read at all
    receipts = landing / "reports/smpp_main/r1.txt"
    stat = receipts.stat()
    os.utime(receipts, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched, same content
    assert pipeline.pending_objects("smpp_main", dsn=dsn) == []
    assert read == ["r1.txt"]  # read to be checksummed; the checksum was loaded
    receipts.write_text(SMPP.replace("DELIVRD", "UNDELIV", 1), encoding="utf-8")  # same size, new content
    os.utime(receipts, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2 * 10**9))
    assert [uri.rsplit("/", 1)[1] for uri in pipeline.pending_objects("smpp_main", dsn=dsn)] == ["r1.txt"]


def test_reports_before_the_send_log_are_joined_when_it_arrives(dsn: str, landing: Path) -> None:
    (landing / "sends" / "sends.csv").unlink()
    run_all(dsn)
    assert log_rows(dsn) == {}
    write(landing, "sends/sends.csv", SENDS)
    run_all(dsn)
    assert log_rows(dsn)["A2"][:3] == ("failed", "Hard", "User unknown")


def test_a_message_queued_without_saying_whether_it_changed_is_read_again(dsn: str, landing: Path) -> None:
    # A key queued by a writer that does not set message_changed (one queued before migration 0032, a worker
    # still running older SQL) counts as changed: the build reads the message, not its stale log row.
    run_all(dsn)
    with psycopg.connect(dsn) as conn:
        conn.execute("UPDATE sms_tracking.message SET segments = 3 WHERE provider_message_id = 'A4'")
        conn.execute("INSERT INTO sms_tracking.pending_message (provider, provider_message_id) VALUES ('smpp', 'A4')")
    build_all(dsn)
    with psycopg.connect(dsn) as conn:
        segments = conn.execute("SELECT segments FROM sms_tracking.delivery_log WHERE provider_message_id = 'A4'")
        assert segments.fetchone() == (3,)


def test_a_message_moved_to_another_delivery_leaves_both_summaries_right(dsn: str, landing: Path) -> None:
    # A correction file moves A4 from D1 to D2: D1 loses a message and D2 gains one, though nothing else
    # of D1 changed.
    run_all(dsn)
    header, *rows = SENDS.splitlines()
    moved = next(row for row in rows if ",A4," in row).replace("D1,", "D2,", 1)
    write(landing, "sends/correction.csv", f"{header}\n{moved}\n")
    run_all(dsn)
    summary = {row[0]: row[1:] for row in snapshot(dsn)["summary"]}
    # sent, delivered, failed, pending, success, hard, soft, ignored, segments
    assert summary["D1"] == (3, 1, 1, 1, 2, 1, 0, 0, 4)
    assert summary["D2"] == (3, 2, 1, 0, 2, 1, 0, 0, 3)


def test_bad_lines_are_rejected_with_position_and_reason(dsn: str, landing: Path) -> None:
    write(landing, "reports/smpp_main/r2.txt", SMPP + "id:A9 stat:\n")
    with pytest.raises(BatchRejected, match=r"r2\.txt: 1 of 8 lines rejected"):
        run_all(dsn)
    rejects = snapshot(dsn)["reject"]
    assert len(rejects) == 1 and rejects[0][:2] == ("smpp_main", 8)


def test_reject_rate_under_the_threshold_loads_the_good_lines(
    dsn: str, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__MAX_REJECT_RATE", "0.2")
    write(landing, "reports/smpp_main/r2.txt", SMPP.replace("id:A2", "id:A22") + "garbage line\n")
    results = {Path(r["uri"]).name: r for r in run_all(dsn)}
    assert results["r2.txt"]["rows_rejected"] == 1
    assert results["r2.txt"]["status"] == "loaded"
    assert snapshot(dsn)["reject"][0][1:] != ()


def test_a_price_too_large_to_store_rejects_its_line_not_the_object(dsn: str, landing: Path) -> None:
    write(landing, "reports/twilio_callbacks/c2.txt", "")
    write(
        landing,
        "reports/twilio_api/m1.jsonl",
        '{"sid": "SM1", "status": "delivered", "price": "-1e20", "price_unit": "USD",'
        ' "date_updated": "2026-05-04T09:10:00Z"}\n'
        + "\n".join(
            f'{{"sid": "SM{i}", "status": "sent", "date_updated": "2026-05-04T09:10:00Z"}}' for i in range(100, 130)
        )
        + "\n",
    )
    results = {Path(r["uri"]).name: r for r in run_all(dsn)}
    assert results["m1.jsonl"]["rows_rejected"] == 1 and results["m1.jsonl"]["rows_loaded"] == 30
    assert results["c2.txt"]["rows_read"] == 0 and results["c2.txt"]["status"] == "loaded"
    assert any("price" in reason for _, _, reason in snapshot(dsn)["reject"])
