"""Failure reasons as a controlled vocabulary (issue 17 point 2), on a real Postgres.

Adobe's reasons have fixed names and ids (delivery-failures.md: 5 Mailbox full, 8 Denylisted address,
25 Error ignored...); a Mailbox full number leaves With errors after 30 days and a denylisted one is
never released (quarantines.md). A qualification row may only use a reason of the table with a type it
allows, whoever writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from tests.landing import config_file, run_all, write
from tests.servers import rows, schema_before

from sms_tracking import db, pipeline, quarantine
from sms_tracking.qualification import FAILURE_TYPES, failure_reasons, read_seed, seed_file, sync_seed

pytestmark = pytest.mark.integration

DELIVERY = "deliveries/d.csv", "delivery_id,name,content,provider,created_at\nD1,Promo,Hi,twilio,2026-05-04T08:00:00Z\n"
SENDS = (
    "sends/s.csv",
    (
        "delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at\n"
        "D1,r1,+15550301,twilio,SM1,2026-05-04T08:00:00Z\n"
    ),
)


def callback(code: str) -> str:
    return f"MessageSid=SM1&MessageStatus=undelivered&ErrorCode={code}&RawDlrDoneDate=2605040805\n"


def override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure_type: str, failure_reason: str) -> None:
    config_file(
        monkeypatch,
        tmp_path / "overrides.yaml",
        "qualification_overrides",
        f"""overrides:
  - provider: twilio
    raw_status: undelivered
    error_code: "30099"
    outcome: failed
    failure_type: {failure_type}
    failure_reason: {failure_reason}
""",
    )


def test_the_vocabulary_is_adobes_reasons_with_their_ids_and_rules(dsn: str) -> None:
    with db.connect(dsn) as conn:
        reasons = {r.reason: r for r in failure_reasons(conn)}
    assert {name: r.adobe_id for name, r in reasons.items() if r.adobe_id is not None} == {
        "Not defined": 0,
        "User unknown": 1,
        "Invalid domain": 2,
        "Unreachable": 3,
        "Account disabled": 4,
        "Mailbox full": 5,
        "Not connected": 6,
        "Address empty": 7,
        "Denylisted": 8,
        "Quarantined": 9,
        "Duplicate": 10,
        "Refused": 20,
        "Error ignored": 25,
    }
    assert reasons["Denylisted"].adobe_name == "Denylisted address"
    assert (reasons["Mailbox full"].failure_types, reasons["Mailbox full"].release_rule) == (
        ("Soft",),
        "mailbox_full_release",
    )
    assert (reasons["Denylisted"].failure_types, reasons["Denylisted"].release_rule) == (("Hard",), "denylist")
    assert reasons["Refused"].failure_types == FAILURE_TYPES  # Hard, Soft, and Ignored for content (decision 4)
    assert not reasons["Error ignored"].counts_toward_quarantine
    assert reasons["Error ignored"].failure_types == ("Ignored",)
    assert not reasons["Not connected"].counts_toward_quarantine
    # The Python mirror of the quarantine rules (sms_tracking.quarantine) names the same reasons.
    assert reasons[quarantine.MAILBOX_FULL].release_rule == "mailbox_full_release"
    assert reasons[quarantine.DENYLISTED_REASON].release_rule == "denylist"
    # Every reason the seed uses is in the table with its type.
    assert {(row[5], row[6]) for row in read_seed() if row[6]} <= {
        (t, r.reason) for r in reasons.values() for t in r.failure_types
    }


@pytest.mark.parametrize(
    ("failure_type", "failure_reason", "message"),
    [
        (
            "Hard",
            "Denylisted address",
            r"failure reason 'Denylisted address' is not one of 'Not defined', "
            r"'User unknown', .*'Denylisted', .*'Error ignored'",
        ),
        ("Soft", "Mailbox Full", r"failure reason 'Mailbox Full' is not one of .*'Mailbox full'"),
        ("Soft", "User unknown", r"failure type 'Soft' is not one of Hard \(the types failure reason 'User unknown'"),
        ("Hard", "Error ignored", r"failure type 'Hard' is not one of Ignored"),
    ],
)
def test_an_override_with_an_unknown_reason_or_a_type_it_does_not_allow_is_refused_naming_the_allowed_values(
    dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failure_type: str,
    failure_reason: str,
    message: str,
) -> None:
    override(tmp_path, monkeypatch, failure_type, failure_reason)
    with pytest.raises(
        ValueError, match=r"overrides\.yaml: qualification row \(twilio, undelivered, 30099\): " + message
    ):
        pipeline.apply_qualification_overrides(dsn=dsn)
    with psycopg.connect(dsn) as conn:
        assert conn.execute(
            "SELECT count(*) FROM sms_tracking.qualification WHERE error_code = '30099'"
        ).fetchone() == (0,)


def test_an_edit_in_sql_is_refused_naming_the_allowed_values(dsn: str) -> None:
    with (
        psycopg.connect(dsn) as conn,
        pytest.raises(psycopg.errors.CheckViolation, match="failure reason 'Mailbox Full' is not one of 'Not defined'"),
    ):
        conn.execute(
            "UPDATE sms_tracking.qualification SET failure_reason = 'Mailbox Full'"
            " WHERE provider = 'smpp' AND raw_status = 'UNDELIV' AND error_code = '2'"
        )


def test_a_seed_row_with_an_unknown_reason_is_refused(dsn: str, tmp_path: Path) -> None:
    seed = tmp_path / "qualification.csv"
    seed.write_text(
        seed_file().read_text(encoding="utf-8")
        + "twilio,*,39999,failed,true,Hard,Blocked,a reason Adobe does not have\n",
        encoding="utf-8",
    )
    with (
        db.connect(dsn) as conn,
        pytest.raises(
            ValueError, match=r"qualification\.csv: qualification row \(twilio, \*, 39999\): failure reason 'Blocked'"
        ),
    ):
        sync_seed(conn, seed)


def test_a_denylisted_override_denylists_and_a_mailbox_full_one_is_released_after_30_days(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_landing: Callable[..., Path]
) -> None:
    """The quarantine step and the cleanup read the reason's rule from the table."""
    from datetime import UTC, datetime, timedelta

    override(tmp_path, monkeypatch, "Hard", "Denylisted")
    pipeline.apply_qualification_overrides(dsn=dsn)
    make_landing({DELIVERY[0]: DELIVERY[1], SENDS[0]: SENDS[1], "reports/twilio_callbacks/c.txt": callback("30099")})
    run_all(dsn, "build", ("campaign", "twilio_callbacks"))
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT status, error_count FROM sms_tracking.quarantine").fetchall() == [("Denylisted", 0)]

    # Twilio 30003 (unreachable handset) qualified Soft / Mailbox full by an override: With errors, released by
    # the cleanup after 30 days, not 10.
    write(
        tmp_path,
        "overrides.yaml",
        """overrides:
  - {provider: twilio, raw_status: undelivered, error_code: "30003", outcome: failed, failure_type: Soft,
     failure_reason: Mailbox full}
""",
    )
    pipeline.apply_qualification_overrides(dsn=dsn)
    make_landing(
        {
            DELIVERY[0]: DELIVERY[1],
            SENDS[0]: SENDS[1] + "D1,r2,+15550302,twilio,SM2,2026-05-04T08:00:00Z\n",
            "reports/twilio_callbacks/d.txt": callback("30003").replace("SM1", "SM2"),
        }
    )
    run_all(dsn, "build2", ("campaign", "twilio_callbacks"))
    done = datetime(2026, 5, 4, 8, 5, tzinfo=UTC)
    assert quarantine.run_cleanup(done + timedelta(days=11), dsn=dsn) == {"released": 0}
    assert quarantine.run_cleanup(done + timedelta(days=30), dsn=dsn) == {"released": 1, "mailbox_full_release": 1}


def test_the_migration_gives_existing_rows_the_tables_names(dsn: str, tmp_path: Path) -> None:
    """Rows written before the vocabulary: Adobe's label or another casing is mapped, anything else is to qualify."""
    with schema_before(dsn, tmp_path, "0022") as conn:
        conn.execute("""INSERT INTO sms_tracking.qualification
                            (provider, raw_status, error_code, outcome, is_final, failure_type, failure_reason, origin)
                        VALUES ('twilio', '*', '1', 'failed', true, 'Hard', 'Denylisted address', 'user'),
                               ('twilio', '*', '2', 'failed', true, 'Soft', 'Mailbox Full', 'user'),
                               ('twilio', '*', '3', 'failed', true, 'Hard', 'Blocked', 'user'),
                               ('twilio', '*', '4', 'failed', true, 'Soft', 'User unknown', 'user')""")
    with db.connect(dsn) as conn:
        assert "0022_failure_reason" in db.migrate(conn)
        rows = conn.execute(
            "SELECT error_code, failure_type, failure_reason, state, description"
            " FROM sms_tracking.qualification ORDER BY 1"
        ).fetchall()
    assert rows == [
        ("1", "Hard", "Denylisted", "keep", None),
        ("2", "Soft", "Mailbox full", "keep", None),
        ("3", "Hard", "Not defined", "to_qualify", "reason 'Blocked' is not a failure reason (migration 0022); "),
        ("4", "Hard", "User unknown", "to_qualify", "type 'Soft' not allowed for User unknown (migration 0022); "),
    ]


def test_the_failure_of_an_allowlisted_number_is_error_ignored_and_a_sender_refusal_is_refused(
    dsn: str, make_landing: Callable[..., Path]
) -> None:
    """Adobe's reason 25 (decision 9): an allowlisted number's failure is sent anyway, Ignored / Error ignored,
    neither Hard nor Soft, never toward quarantine; before the allowlist the same failure is Hard. Twilio 30034
    (unregistered sender number) is a sender refusal: Ignored / Refused (decision 4)."""
    from datetime import UTC, datetime

    quarantine.set_status("+15550302", quarantine.ALLOWLISTED, "ops", at=datetime(2026, 5, 4, 7, tzinfo=UTC), dsn=dsn)
    make_landing(
        {
            DELIVERY[0]: DELIVERY[1],
            SENDS[0]: SENDS[1]
            + "D1,r2,+15550302,twilio,SM2,2026-05-04T08:00:00Z\nD1,r3,+15550303,twilio,SM3,2026-05-04T08:00:00Z\n",
            "reports/twilio_callbacks/c.txt": callback("30005")
            + callback("30005").replace("SM1", "SM2")
            + callback("30034").replace("SM1", "SM3"),
        }
    )
    run_all(dsn, "build", ("campaign", "twilio_callbacks"))
    columns = "provider_message_id, failure_type, failure_reason"
    log = rows(dsn, f"SELECT {columns} FROM sms_tracking.delivery_log ORDER BY 1")
    assert log == [("SM1", "Hard", "User unknown"), ("SM2", "Ignored", "Error ignored"), ("SM3", "Ignored", "Refused")]
    quarantined = rows(dsn, "SELECT phone_e164, status FROM sms_tracking.quarantine ORDER BY 1")
    assert quarantined == [("+15550301", "Quarantine"), ("+15550302", "Allowlisted")]
    assert rows(dsn, "SELECT failed, hard, soft, ignored FROM sms_tracking.delivery_summary") == [(3, 1, 0, 2)]
    ignored = "SELECT count(*) FROM sms_tracking.qualification WHERE failure_reason = 'Error ignored'"
    assert rows(dsn, ignored + " AND raw_status NOT IN ('canceled', 'Aborted', 'Cancelled')") == [(0,)]


def test_a_number_allowlisted_with_an_earlier_time_is_retyped_by_the_requalification(
    dsn: str, make_landing: Callable[..., Path]
) -> None:
    from datetime import UTC, datetime

    from tests.landing import build_all

    from sms_tracking.ingest import RunInfo

    make_landing({DELIVERY[0]: DELIVERY[1], SENDS[0]: SENDS[1], "reports/twilio_callbacks/c.txt": callback("30005")})
    run_all(dsn, "build", ("campaign", "twilio_callbacks"))
    quarantine.set_status("+15550301", quarantine.ALLOWLISTED, "ops", at=datetime(2026, 5, 4, 8, tzinfo=UTC), dsn=dsn)
    pipeline.requalify(run=RunInfo("sms_tracking_requalify", "rq1", "requeue"), dsn=dsn)
    build_all(dsn, "rq1")
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT failure_type, failure_reason FROM sms_tracking.delivery_log").fetchall() == [
            ("Ignored", "Error ignored")
        ]
        assert conn.execute("SELECT hard, ignored FROM sms_tracking.delivery_summary").fetchall() == [(0, 1)]
    assert pipeline.requalify(run=RunInfo("sms_tracking_requalify", "rq2", "requeue"), dsn=dsn)["requeued"] == 0


def test_content_and_sender_refusals_are_a_warning_in_the_delivery_journal_with_their_count(
    dsn: str, make_landing: Callable[..., Path]
) -> None:
    """Decision 4: Twilio 30007 (carrier filtering: content) and 30034 (unregistered number: sender) are
    Ignored / Refused, counted, and raised in the delivery's audit as a sender/content problem."""
    sends = SENDS[1] + "".join(f"D1,r{n},+1555030{n},twilio,SM{n},2026-05-04T08:00:00Z\n" for n in (2, 3, 4))
    make_landing(
        {
            DELIVERY[0]: DELIVERY[1],
            SENDS[0]: sends,
            "reports/twilio_callbacks/c.txt": callback("30007")
            + callback("30007").replace("SM1", "SM2")
            + callback("30034").replace("SM1", "SM3"),
        }
    )
    run_all(dsn, "build", ("campaign", "twilio_callbacks"))
    make_landing({"reports/twilio_callbacks/d.txt": callback("30034").replace("SM1", "SM4")})
    run_all(dsn, "build2", ("campaign", "twilio_callbacks"))
    with psycopg.connect(dsn) as conn:
        events = conn.execute(
            "SELECT level, message, details ->> 'messages' FROM sms_tracking.audit_event"
            " WHERE delivery_id = 'D1' AND event = 'content_sender_refusals' ORDER BY at"
        ).fetchall()
    assert events == [
        (
            "warning",
            "3 message(s) refused for their content or sender (Ignored / Refused), by code: "
            "twilio/undelivered/30007 2, twilio/undelivered/30034 1",
            "3",
        ),
        (
            "warning",
            "4 message(s) refused for their content or sender (Ignored / Refused), by code: "
            "twilio/undelivered/30007 2, twilio/undelivered/30034 2",
            "4",
        ),
    ]
