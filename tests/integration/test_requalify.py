"""Re-qualification on a real Postgres: an edited qualification row flows to the log, quarantine, summary, audit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from tests.landing import build_all, config_file, run_all, write
from tests.servers import rows

from sms_tracking import pipeline
from sms_tracking.audit import RunInfo

pytestmark = pytest.mark.integration

NUMBERS = {"SM1": "+15550301", "SM2": "+15550302", "SM3": "+15550303"}


@pytest.fixture
def loaded(dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_landing: Callable[..., Path]) -> str:
    """D1: SM1 and SM2 failed with Twilio codes the seed does not know (30099, 30098), SM3 delivered."""
    make_landing(
        {
            "deliveries/d.csv": "delivery_id,name,content,provider,created_at\n"
            "D1,Promo,Hi,twilio,2026-05-04T08:00:00Z\n",
            "sends/s.csv": "delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at\n"
            + "".join(f"D1,r{sid[-1]},{phone},twilio,{sid},2026-05-04T08:00:00Z\n" for sid, phone in NUMBERS.items()),
            "reports/twilio_callbacks/c.txt": (
                "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30099&RawDlrDoneDate=2605040805\n"
                "MessageSid=SM2&MessageStatus=undelivered&ErrorCode=30098&RawDlrDoneDate=2605040805\n"
                "MessageSid=SM3&MessageStatus=delivered&RawDlrDoneDate=2605040805\n"
            ),
        }
    )
    config_file(monkeypatch, tmp_path / "overrides.yaml", "qualification_overrides", "overrides: []\n")
    run_all(dsn, "build", ("campaign", "twilio_callbacks"))
    return dsn


def requalify(dsn: str, run_id: str, **filters: str) -> None:
    """The requalify DAG's tasks, in its order."""
    pipeline.apply_qualification_overrides(dsn=dsn)
    pipeline.requalify(**filters, run=RunInfo("sms_tracking_requalify", run_id, "requeue"), dsn=dsn)
    build_all(dsn, run_id, dag_id="sms_tracking_requalify")
    pipeline.requalify_report(RunInfo("sms_tracking_requalify", run_id, "report"), dsn=dsn)


def edit(dsn: str, code: str, failure_type: str, failure_reason: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(
            """UPDATE sms_tracking.qualification SET failure_type = %s, failure_reason = %s, state = 'keep',
                      origin = 'user' WHERE provider = 'twilio' AND raw_status = 'undelivered' AND error_code = %s""",
            (failure_type, failure_reason, code),
        )


def snapshot(dsn: str) -> dict[str, list[tuple]]:
    with psycopg.connect(dsn) as conn:
        return {
            "log": conn.execute(
                "SELECT provider_message_id, status, failure_type, failure_reason"
                " FROM sms_tracking.delivery_log ORDER BY 1"
            ).fetchall(),
            "quarantine": conn.execute(
                "SELECT phone_e164, status, error_count FROM sms_tracking.quarantine ORDER BY 1"
            ).fetchall(),
            "history": conn.execute(
                "SELECT phone_e164, from_status, to_status, event_kind, reason"
                " FROM sms_tracking.quarantine_history ORDER BY 1, at, id"
            ).fetchall(),
            "summary": conn.execute(
                "SELECT delivery_id, failed, hard, soft FROM sms_tracking.delivery_summary ORDER BY 1"
            ).fetchall(),
        }


def audit(dsn: str, run_id: str) -> dict[str | None, tuple]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT delivery_id, level, message, details, dag_id, task_id FROM sms_tracking.audit_event"
            " WHERE event = 'requalified' AND run_id = %s",
            (run_id,),
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_edited_row_requalifies_log_quarantine_summary_with_audit(loaded: str) -> None:
    before = snapshot(loaded)
    assert before["log"][:2] == [("SM1", "failed", "Soft", "Not defined"), ("SM2", "failed", "Soft", "Not defined")]
    assert before["quarantine"] == [(NUMBERS["SM1"], "With errors", 1), (NUMBERS["SM2"], "With errors", 1)]
    assert before["summary"] == [("D1", 2, 0, 2)]

    edit(loaded, "30099", "Hard", "User unknown")
    requalify(loaded, "rq1")

    after = snapshot(loaded)
    assert after["log"][:2] == [("SM1", "failed", "Hard", "User unknown"), ("SM2", "failed", "Soft", "Not defined")]
    assert after["quarantine"][0] == (NUMBERS["SM1"], "Quarantine", 1)
    # The number's history was replayed: the soft error it had is now the hard one that quarantined it.
    assert [h for h in after["history"] if h[0] == NUMBERS["SM1"]] == [
        (NUMBERS["SM1"], "Valid", "Quarantine", "hard", "User unknown")
    ]
    assert after["summary"] == [("D1", 2, 1, 1)]

    journal = audit(loaded, "rq1")
    level, message, details, dag_id, task_id = journal["D1"]
    assert (level, dag_id, task_id) == ("info", "sms_tracking_requalify", "report")
    assert message == "1 message(s) re-qualified. Before: Soft / Not defined 1. After: Hard / User unknown 1."
    assert details["before"] == {"Soft / Not defined": 1}
    assert details["after"] == {"Hard / User unknown": 1}
    assert details["quarantine"] == {"before": {"With errors": 1}, "after": {"Quarantine": 1}}
    assert journal[None][2]["deliveries"] == 1


def test_requalifying_again_changes_nothing_and_says_so(loaded: str) -> None:
    edit(loaded, "30099", "Hard", "User unknown")
    requalify(loaded, "rq1")
    before = snapshot(loaded)
    requalify(loaded, "rq2")
    assert snapshot(loaded) == before
    journal = audit(loaded, "rq2")
    assert list(journal) == [None]
    assert journal[None][1] == "Re-qualification: no delivery-log row differed from the qualification table"
    requalify(loaded, "rq1")  # a retried run keeps its first "before" and its journal lines
    assert audit(loaded, "rq1")["D1"][2]["before"] == {"Soft / Not defined": 1}


def test_filter_limits_the_requalification_to_one_code(loaded: str) -> None:
    edit(loaded, "30099", "Hard", "User unknown")
    edit(loaded, "30098", "Ignored", "Refused")
    requalify(loaded, "rq1", provider="twilio", error_code="30098")
    after = snapshot(loaded)
    assert after["log"][:2] == [("SM1", "failed", "Soft", "Not defined"), ("SM2", "failed", "Ignored", "Refused")]
    # An Ignored failure never counts: the number's only error is gone, and with it its history.
    assert after["quarantine"] == [(NUMBERS["SM1"], "With errors", 1)]


def test_overrides_file_is_applied_as_user_rows_and_requalifies(loaded: str, tmp_path: Path) -> None:
    write(
        tmp_path,
        "overrides.yaml",
        """overrides:
  - provider: twilio
    raw_status: undelivered
    error_code: "030099"
    outcome: failed
    failure_type: Hard
    failure_reason: User unknown
    description: unknown subscriber (ticket 1234)
""",
    )
    requalify(loaded, "rq1")
    with psycopg.connect(loaded) as conn:
        row = conn.execute(
            "SELECT failure_type, failure_reason, state, origin, description FROM sms_tracking.qualification"
            " WHERE provider = 'twilio' AND raw_status = 'undelivered' AND error_code = '30099'"
        ).fetchone()
    assert row == ("Hard", "User unknown", "keep", "user", "unknown subscriber (ticket 1234)")
    assert snapshot(loaded)["quarantine"][0] == (NUMBERS["SM1"], "Quarantine", 1)
    assert pipeline.apply_qualification_overrides(dsn=loaded) == 0
    pipeline.prepare_database(loaded)  # the seed sync keeps the user's row
    with psycopg.connect(loaded) as conn:
        assert conn.execute("SELECT origin FROM sms_tracking.qualification WHERE error_code = '30099'").fetchone() == (
            "user",
        )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "  - {provider: twilio, raw_status: failed, error_code: '1', outcome: failed, failure_type: Hard}",
            "override #1: a failed outcome needs failure_type and failure_reason",
        ),
        ("  - {provider: twilio, raw_status: failed, outcome: delivered}", "override #1: missing error_code"),
        (
            "  - {provider: twilio, raw_status: x, error_code: '*', outcome: failed, failure_type: Fatal, "
            "failure_reason: Refused}",
            "override #1: failure_type: 'Fatal' is not one of Hard, Soft, Ignored",
        ),
    ],
)
def test_a_bad_override_names_the_entry_and_the_field(tmp_path: Path, entry: str, message: str) -> None:
    write(tmp_path, "o.yaml", "overrides:\n" + entry + "\n")
    with pytest.raises(ValueError, match=message):
        pipeline.read_overrides(tmp_path / "o.yaml")


def set_state(dsn: str, raw_status: str, code: str, state: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "UPDATE sms_tracking.qualification SET state = %s WHERE provider = 'twilio' AND raw_status = %s"
            " AND error_code = %s",
            (state, raw_status, code),
        )


def qualification_rows(dsn: str, code: str) -> list[tuple]:
    columns = "raw_status, error_code, failure_type, failure_reason, state, occurrences"
    where = "provider = 'twilio' AND error_code = %s"
    return rows(dsn, f"SELECT {columns} FROM sms_tracking.qualification WHERE {where} ORDER BY 1", code)


def test_an_ignored_row_keeps_typing_its_failure_but_never_quarantines(
    dsn: str, make_landing: Callable[..., Path]
) -> None:
    """Adobe's Ignore state (decision 10): Twilio 30005 stays Hard / User unknown in the KPIs, no quarantine.

    Before, the look-up skipped the ignored (*, 30005) row: the report fell back to (undelivered, *) and
    the build re-created (undelivered, 30005) as to qualify.
    """
    set_state(dsn, "*", "30005", "ignore")
    make_landing(
        {
            "deliveries/d.csv": "delivery_id,name,content,provider,created_at\n"
            "D1,Promo,Hi,twilio,2026-05-04T08:00:00Z\n",
            "sends/s.csv": "delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at\n"
            "D1,r1,+15550301,twilio,SM1,2026-05-04T08:00:00Z\n",
            "reports/twilio_callbacks/c.txt": "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30005"
            "&RawDlrDoneDate=2605040805\n",
        }
    )
    run_all(dsn, "build", ("campaign", "twilio_callbacks"))

    with psycopg.connect(dsn) as conn:
        assert conn.execute(
            "SELECT status, failure_type, failure_reason, quarantine_ignored FROM sms_tracking.delivery_log"
        ).fetchall() == [("failed", "Hard", "User unknown", True)]
        assert conn.execute("SELECT count(*) FROM sms_tracking.quarantine_event").fetchone() == (0,)
        assert conn.execute("SELECT failed, hard, soft, ignored FROM sms_tracking.delivery_summary").fetchall() == [
            (1, 1, 0, 0)
        ]
    assert snapshot(dsn)["quarantine"] == []
    # The ignored row qualified the report and counted it; no exact row was created to qualify.
    assert qualification_rows(dsn, "30005") == [("*", "30005", "Hard", "User unknown", "ignore", 1)]


def test_setting_a_row_to_ignore_and_back_requalifies_the_quarantine(loaded: str) -> None:
    """A state change alone re-queues the messages it types: the number leaves With errors, and comes back."""
    set_state(loaded, "undelivered", "30099", "ignore")
    requalify(loaded, "rq1")
    after = snapshot(loaded)
    assert after["log"][0] == ("SM1", "failed", "Soft", "Not defined")  # type and reason kept for the KPIs
    assert after["quarantine"] == [(NUMBERS["SM2"], "With errors", 1)]
    assert after["summary"] == [("D1", 2, 0, 2)]
    assert audit(loaded, "rq1")["D1"][2]["quarantine"] == {"before": {"With errors": 1}, "after": {"Valid": 1}}

    set_state(loaded, "undelivered", "30099", "keep")
    requalify(loaded, "rq2")
    assert snapshot(loaded)["quarantine"] == [(NUMBERS["SM1"], "With errors", 1), (NUMBERS["SM2"], "With errors", 1)]
