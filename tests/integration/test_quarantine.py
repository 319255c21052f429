"""The quarantine step and the cleanup on a real Postgres: rules at their boundaries, STOP/START, replays."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.landing import load_all, run_all

from sms_tracking import pipeline, quarantine
from sms_tracking.quarantine import Event, QuarantineConfig, State, Transition, replay
from sms_tracking.settings import Settings

pytestmark = pytest.mark.integration

Connection = psycopg.Connection[Any]

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
PHONE = "+33612345678"
OUTCOMES = {
    "success": ("delivered", None, None),
    "soft": ("failed", "Soft", "Unreachable"),
    "mailbox_full": ("failed", "Soft", "Mailbox full"),
    "hard": ("failed", "Hard", "User unknown"),
    "optout": ("failed", "Hard", "Denylisted"),
    "ignored": ("failed", "Ignored", "Not connected"),
}


def record(conn: Connection, key: str, at: datetime, outcome: str, phone: str = PHONE, delivery: str = "D1") -> None:
    """A final delivery-log row, as the delivery_log step leaves it, and its delivery queued for the build."""
    status, failure_type, failure_reason = OUTCOMES[outcome]
    conn.execute(
        """INSERT INTO sms_tracking.delivery_log (provider, provider_message_id, delivery_id, recipient_id,
               phone_e164, status, is_final, failure_type, failure_reason, submitted_at, done_at, report_count,
               segments)
           VALUES ('twilio', %s, %s, %s, %s, %s, true, %s, %s, %s, %s, 1, 1)
           ON CONFLICT (provider, provider_message_id) DO UPDATE
              SET phone_e164 = excluded.phone_e164, status = excluded.status,
                  failure_type = excluded.failure_type, failure_reason = excluded.failure_reason,
                  done_at = excluded.done_at""",
        (key, delivery, f"r-{phone}", phone, status, failure_type, failure_reason, at - timedelta(minutes=1), at),
    )
    conn.execute("INSERT INTO sms_tracking.pending_delivery VALUES (%s) ON CONFLICT DO NOTHING", (delivery,))


def inbound(conn: Connection, key: str, at: datetime, text: str, phone: str = PHONE) -> None:
    """An inbound message as the load leaves it (stored and queued)."""
    conn.execute(
        """INSERT INTO sms_tracking.inbound_message (inbound_key, provider, phone_raw, phone_e164, text,
               received_at, object_id, position) VALUES (%s, 'smpp', %s, %s, %s, %s, 0, 1)""",
        (key, phone, phone, text, at),
    )
    conn.execute("INSERT INTO sms_tracking.pending_inbound VALUES (%s)", (key,))


@pytest.fixture
def conn(dsn: str) -> Iterator[Connection]:
    """One autocommit connection per test: the build steps see each row as soon as it is written."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        yield connection


def build(dsn: str) -> None:
    pipeline.build_step("quarantine", run_id="test", dsn=dsn)


def state(conn: Connection, phone: str = PHONE) -> tuple | None:
    return conn.execute(
        "SELECT status, error_count FROM sms_tracking.quarantine WHERE phone_e164 = %s", (phone,)
    ).fetchone()


def history(conn: Connection, phone: str = PHONE) -> list[tuple]:
    return conn.execute(
        """SELECT at, from_status, to_status, error_count, cause_kind, event_kind, event_key, rule
             FROM sms_tracking.quarantine_history WHERE phone_e164 = %s ORDER BY at, id""",
        (phone,),
    ).fetchall()


def tables(conn: Connection) -> dict[str, list[tuple]]:
    return {
        "quarantine": conn.execute("SELECT * FROM sms_tracking.quarantine ORDER BY 1").fetchall(),
        "history": conn.execute(
            "SELECT phone_e164, at, from_status, to_status, error_count, cause_kind, event_key, rule"
            " FROM sms_tracking.quarantine_history ORDER BY phone_e164, at, id"
        ).fetchall(),
        "events": conn.execute(
            "SELECT event_key, phone_e164, at, kind FROM sms_tracking.quarantine_event ORDER BY 1"
        ).fetchall(),
        "not_applied": conn.execute("SELECT * FROM sms_tracking.pending_quarantine_event").fetchall(),
    }


def days(n: float) -> timedelta:
    return timedelta(days=n)


def test_fifth_significant_soft_error_quarantines(dsn: str, conn: Connection) -> None:
    for i in range(4):
        record(conn, f"m{i}", T0 + days(i), "soft")
    build(dsn)
    assert state(conn) == ("With errors", 4)
    record(conn, "m4", T0 + days(4), "soft")
    build(dsn)
    assert state(conn) == ("Quarantine", 5)
    assert [h[3] for h in history(conn)] == [1, 2, 3, 4, 5]


def test_soft_errors_less_than_24h_apart_count_once(dsn: str, conn: Connection) -> None:
    record(conn, "m1", T0, "soft")
    record(conn, "m2", T0 + timedelta(hours=23, minutes=59), "soft")
    record(conn, "m3", T0 + timedelta(hours=24), "soft")
    build(dsn)
    assert state(conn) == ("With errors", 2)
    assert [h[6] for h in history(conn)] == ["report:twilio:m1", "report:twilio:m3"]


def test_hard_error_quarantines_and_history_names_the_message(dsn: str, conn: Connection) -> None:
    record(conn, "SM1", T0, "hard", delivery="D7")
    build(dsn)
    row = conn.execute(
        """SELECT from_status, to_status, error_count, cause_kind, event_kind, reason, delivery_id, provider,
                  provider_message_id, at FROM sms_tracking.quarantine_history"""
    ).fetchone()
    cause = conn.execute("SELECT cause, last_error_reason FROM sms_tracking.quarantine").fetchone()
    assert row == ("Valid", "Quarantine", 1, "report", "hard", "User unknown", "D7", "twilio", "SM1", T0)
    assert cause == ("User unknown: twilio message SM1 of delivery D7", "User unknown")


def test_success_resets_with_errors_to_valid(dsn: str, conn: Connection) -> None:
    record(conn, "m1", T0, "soft")
    record(conn, "m2", T0 + days(1), "soft")
    record(conn, "m3", T0 + days(2), "success")
    build(dsn)
    assert state(conn) == ("Valid", 0)
    assert history(conn)[-1][1:4] == ("With errors", "Valid", 0)


def test_ignored_failures_and_successes_of_a_clean_number_leave_no_row(dsn: str, conn: Connection) -> None:
    for i in range(6):
        record(conn, f"m{i}", T0 + days(i), "ignored")
    record(conn, "ok", T0 + days(7), "success")
    build(dsn)
    assert state(conn) is None
    assert history(conn) == []


def test_rerunning_the_step_changes_nothing(dsn: str, conn: Connection) -> None:
    record(conn, "m1", T0, "soft")
    record(conn, "m2", T0 + days(1), "hard")
    inbound(conn, "in1", T0 + days(2), "STOP", phone="+33700000001")
    build(dsn)
    before = tables(conn)
    build(dsn)
    conn.execute("INSERT INTO sms_tracking.pending_delivery VALUES ('D1') ON CONFLICT DO NOTHING")
    build(dsn)
    assert tables(conn) == before


def test_late_report_is_applied_in_event_time_order(dsn: str, conn: Connection) -> None:
    # Errors on days 0, 1, 2 and 3, a success on day 4, then the report of day 0 arrives last: had it been
    # applied as the latest event, the number would end With errors; in event-time order it is Valid.
    for i, day in enumerate((1, 2, 3)):
        record(conn, f"m{i}", T0 + days(day), "soft")
    record(conn, "ok", T0 + days(4), "success")
    build(dsn)
    record(conn, "late", T0, "soft")
    build(dsn)
    assert state(conn) == ("Valid", 0)
    assert [h[3] for h in history(conn)] == [1, 2, 3, 4, 0]


def test_successes_of_a_clean_number_are_recorded_not_applied_and_a_late_error_replays_them(
    dsn: str, conn: Connection
) -> None:
    # Successes alone change nothing for a Valid number: the step records them and empties the queue
    # without walking them. An error dated between them, arriving later, replays the number with them:
    # the success after it resets the count, so the number ends Valid with the error and reset in history.
    record(conn, "ok1", T0, "success")
    record(conn, "ok2", T0 + days(2), "success")
    build(dsn)
    assert state(conn) is None
    assert conn.execute("SELECT count(*) FROM sms_tracking.quarantine_event WHERE kind = 'success'").fetchone() == (2,)
    assert conn.execute("SELECT count(*) FROM sms_tracking.pending_quarantine_event").fetchone() == (0,)
    record(conn, "late", T0 + days(1), "soft")
    build(dsn)
    assert state(conn) == ("Valid", 0)
    assert [(h[1], h[2], h[3]) for h in history(conn)] == [("Valid", "With errors", 1), ("With errors", "Valid", 0)]


def test_new_event_at_the_time_of_an_applied_one_takes_its_place_in_kind_order(dsn: str, conn: Connection) -> None:
    # A success sorts before a soft error of the same instant: the error, applied first, still stands.
    record(conn, "m1", T0, "soft")
    build(dsn)
    record(conn, "ok", T0, "success")
    build(dsn)
    assert state(conn) == ("With errors", 1)


def test_changed_outcome_replays_the_number(dsn: str, conn: Connection) -> None:
    record(conn, "m1", T0, "hard")
    build(dsn)
    assert state(conn) == ("Quarantine", 1)
    record(conn, "m1", T0, "soft")  # a re-qualification turned the code into a soft error
    build(dsn)
    assert state(conn) == ("With errors", 1)
    assert len(history(conn)) == 1
    record(conn, "m1", T0, "ignored")
    build(dsn)
    assert state(conn) is None
    assert history(conn) == []


def test_a_number_of_successes_only_is_not_replayed_until_one_turns_into_an_error(dsn: str, conn: Connection) -> None:
    # A later report moves a success of a number that only ever succeeded: the event follows, nothing else
    # changes (no replay is queued for such a number). When a re-qualification turns that success into a
    # hard error, the number is replayed and quarantined, and the move back to success releases it.
    record(conn, "ok1", T0, "success")
    record(conn, "ok2", T0 + days(2), "success")
    build(dsn)
    record(conn, "ok2", T0 + days(3), "success")
    build(dsn)
    assert conn.execute(
        "SELECT at FROM sms_tracking.quarantine_event WHERE event_key = 'report:twilio:ok2'"
    ).fetchone() == (T0 + days(3),)
    assert state(conn) is None and history(conn) == []
    record(conn, "ok1", T0, "hard")
    build(dsn)
    assert state(conn) == ("Quarantine", 1)
    record(conn, "ok1", T0, "success")
    build(dsn)
    assert state(conn) is None and history(conn) == []


def build_summaries(dsn: str) -> None:
    """The quarantine step and the steps after it that queue and summarise the deliveries it changed."""
    for step in ("quarantine", "tracking", "summary"):
        pipeline.build_step(step, run_id="test", dsn=dsn)


def queued_for_summary(conn: Connection) -> set[str]:
    """What the tracking step queued: it drains pending_delivery and the history changes into pending_summary."""
    pipeline.build_step("tracking", run_id="test", dsn=conn.info.dsn)
    return {row[0] for row in conn.execute("SELECT delivery_id FROM sms_tracking.pending_summary")}


def test_replay_that_reproduces_the_history_keeps_its_rows_and_queues_no_other_delivery(
    dsn: str, conn: Connection
) -> None:
    # A later report moves D3's success; the replay of the number gives the same transitions, so the
    # history rows stay as they are (same ids) and D1, which quarantined the number, is not summarised again.
    record(conn, "m1", T0, "hard", delivery="D1")
    record(conn, "m3", T0 + days(5), "success", delivery="D3")
    build_summaries(dsn)
    stored = "SELECT id, delivery_id, to_status FROM sms_tracking.quarantine_history ORDER BY id"
    rows = conn.execute(stored).fetchall()
    assert [r[1:] for r in rows] == [("D1", "Quarantine")]
    record(conn, "m3", T0 + days(6), "success", delivery="D3")
    build(dsn)
    assert conn.execute(stored).fetchall() == rows
    assert conn.execute("SELECT count(*) FROM sms_tracking.pending_history_removed").fetchone() == (0,)
    assert queued_for_summary(conn) == {"D3"}


def test_replay_that_removes_a_quarantine_resummarises_the_delivery_that_caused_it(dsn: str, conn: Connection) -> None:
    # Five significant soft errors, the fifth from D5, quarantine the number. A success dated before the
    # fifth arrives late: the count restarts, D5's error now leaves the number With errors, and D5 (whose
    # own report did not change) must lose its new quarantine in its summary.
    for i in range(1, 6):
        record(conn, f"m{i}", T0 + days(i), "soft", delivery=f"D{i}")
    build_summaries(dsn)
    new_quarantines = "SELECT new_quarantines FROM sms_tracking.delivery_summary WHERE delivery_id = 'D5'"
    assert conn.execute(new_quarantines).fetchone() == (1,)
    record(conn, "ok", T0 + days(4.5), "success", delivery="D9")
    build(dsn)
    assert state(conn) == ("With errors", 1)
    assert conn.execute("SELECT delivery_id, to_status FROM sms_tracking.pending_history_removed").fetchall() == [
        ("D5", "Quarantine")
    ]
    assert queued_for_summary(conn) == {"D5", "D9"}
    assert conn.execute("SELECT count(*) FROM sms_tracking.pending_history_removed").fetchone() == (0,)
    pipeline.build_step("summary", run_id="test", dsn=dsn)
    assert conn.execute(new_quarantines).fetchone() == (0,)


def test_provider_opt_out_denylists_the_number(dsn: str, conn: Connection, make_landing: Callable[..., Path]) -> None:
    make_landing(
        {
            "deliveries/d.csv": "delivery_id,name,content,provider,created_at\n"
            "D1,Promo,Hi,twilio,2026-05-04T08:00:00Z\n",
            "sends/s.csv": "delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at\n"
            "D1,r1,+15550101,twilio,SM1,2026-05-04T08:00:00Z\n",
            "reports/twilio_callbacks/c.txt": "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=21610"
            "&To=%2B15550101&RawDlrDoneDate=2605040801\n",
        }
    )
    run_all(dsn, sources=("campaign", "twilio_callbacks"))
    assert state(conn, "+15550101") == ("Denylisted", 0)
    assert history(conn, "+15550101")[0][4:6] == ("report", "optout")


def test_stop_and_start_from_inbound_messages(dsn: str, conn: Connection, make_landing: Callable[..., Path]) -> None:
    header = "provider,provider_message_id,phone,recipient,text,received_at\n"
    root = make_landing(
        {
            "inbound/1.csv": (
                header + "smpp,,33611111111,36179, Stop! ,2026-05-04T09:00:00Z\n"
                "smpp,,33622222222,36179,Arrêt,2026-05-04T09:00:00Z\n"
                "smpp,,33633333333,36179,please stop calling me,2026-05-04T09:00:00Z\n"
            )
        }
    )

    def load_and_build() -> None:
        load_all(dsn, ("campaign",))
        build(dsn)

    load_and_build()
    assert state(conn, "+33611111111") == ("Denylisted", 0)
    assert state(conn, "+33622222222") == ("Denylisted", 0)
    assert state(conn, "+33633333333") is None
    (root / "inbound" / "2.csv").write_text(header + "smpp,,33611111111,36179,START,2026-05-05T09:00:00Z\n")
    load_and_build()
    assert state(conn, "+33611111111") == ("Valid", 0)
    rows = history(conn, "+33611111111")
    assert [(r[2], r[4], r[5]) for r in rows] == [("Denylisted", "inbound", "stop"), ("Valid", "inbound", "start")]


def test_configured_keywords_replace_the_defaults(dsn: str, conn: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__STOP_KEYWORDS", "halt")
    inbound(conn, "in1", T0, "halt", phone="+33611111111")
    inbound(conn, "in2", T0, "stop", phone="+33622222222")
    build(dsn)
    assert state(conn, "+33611111111") == ("Denylisted", 0)
    assert state(conn, "+33622222222") is None


def test_cleanup_releases_with_errors_10_days_after_the_last_error(dsn: str, conn: Connection) -> None:
    record(conn, "m1", T0, "soft")
    record(conn, "m2", T0 + days(1), "soft")
    build(dsn)
    assert quarantine.run_cleanup(T0 + days(11) - timedelta(seconds=1), dsn=dsn)["released"] == 0
    assert state(conn) == ("With errors", 2)
    result = quarantine.run_cleanup(T0 + days(11), dsn=dsn)
    assert result == {"released": 1, "with_errors_release": 1}
    assert state(conn) == ("Valid", 0)
    key = f"rule:with_errors_release:{PHONE}:2026-05-15T08:00:00Z"
    assert history(conn)[-1][2:] == ("Valid", 0, "rule", "release", key, "with_errors_release")
    before = tables(conn)
    quarantine.run_cleanup(T0 + days(11), dsn=dsn)
    assert tables(conn) == before
    audit = conn.execute("SELECT level, event, details FROM sms_tracking.audit_event").fetchall()
    assert [(a[0], a[1], a[2]["released"]) for a in audit] == [
        ("info", "quarantine_released", {"with_errors_release": 1})
    ]


def test_cleanup_releases_mailbox_full_after_30_days_only(dsn: str, conn: Connection) -> None:
    record(conn, "m1", T0, "mailbox_full")
    build(dsn)
    quarantine.run_cleanup(T0 + days(10), dsn=dsn)
    quarantine.run_cleanup(T0 + days(30) - timedelta(seconds=1), dsn=dsn)
    assert state(conn) == ("With errors", 1)
    assert quarantine.run_cleanup(T0 + days(30), dsn=dsn) == {"released": 1, "mailbox_full_release": 1}
    assert state(conn) == ("Valid", 0)


def test_cleanup_thresholds_are_configurable(dsn: str, conn: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__WITH_ERRORS_RELEASE_DAYS", "2")
    record(conn, "m1", T0, "soft")
    build(dsn)
    quarantine.run_cleanup(T0 + days(2), dsn=dsn)
    assert state(conn) == ("Valid", 0)


def test_cleanup_never_releases_quarantine_or_denylisted(dsn: str, conn: Connection) -> None:
    record(conn, "m1", T0, "hard")
    record(conn, "m2", T0, "optout", phone="+33700000002")
    build(dsn)
    assert quarantine.run_cleanup(T0 + days(400), dsn=dsn)["released"] == 0
    assert state(conn) == ("Quarantine", 1)
    assert state(conn, "+33700000002") == ("Denylisted", 0)


def test_allowlisted_number_is_never_quarantined(dsn: str, conn: Connection) -> None:
    quarantine.set_status(PHONE, "Allowlisted", actor="ops", note="seed number", at=T0, dsn=dsn)
    record(conn, "m1", T0 + days(1), "hard")
    for i in range(6):
        record(conn, f"s{i}", T0 + days(2 + i), "soft")
    build(dsn)
    assert state(conn) == ("Allowlisted", 0)
    assert [(h[4], h[2]) for h in history(conn)] == [("user", "Allowlisted")]


def test_manual_release_is_a_user_event_kept_by_later_replays(dsn: str, conn: Connection) -> None:
    record(conn, "m1", T0, "hard")
    build(dsn)
    quarantine.set_status(PHONE, "Valid", actor="ops", note="provider outage", at=T0 + days(1), dsn=dsn)
    assert state(conn) == ("Valid", 0)
    record(conn, "late", T0 - days(1), "success")  # forces a replay of the number from its first event
    build(dsn)
    assert state(conn) == ("Valid", 0)
    cause = conn.execute("SELECT cause FROM sms_tracking.quarantine").fetchone()
    assert cause == ("set to Valid by ops: provider outage",)


def ledger(conn: Connection) -> dict[str, list[Event]]:
    rows = conn.execute(
        "SELECT phone_e164, kind, at, reason, event_key, set_status FROM sms_tracking.quarantine_event"
    ).fetchall()
    events: dict[str, list[Event]] = {}
    for phone, kind, at, reason, key, set_status in rows:
        events.setdefault(phone, []).append(Event(kind, at, reason, key, set_status))
    return events


def sql_state(conn: Connection) -> dict[str, State]:
    rows = conn.execute(
        "SELECT phone_e164, status, error_count, last_error_at, last_error_reason, first_error_at"
        " FROM sms_tracking.quarantine"
    ).fetchall()
    return {row[0]: State(*row[1:]) for row in rows}


def sql_history(conn: Connection) -> dict[str, list[Transition]]:
    rows = conn.execute(
        "SELECT phone_e164, at, from_status, to_status, error_count, cause_kind, event_kind, event_key, rule"
        " FROM sms_tracking.quarantine_history ORDER BY phone_e164, at, id"
    ).fetchall()
    result: dict[str, list[Transition]] = {}
    for phone, *fields in rows:
        result.setdefault(phone, []).append(Transition(*fields))
    return result


def test_sql_and_python_agree_on_a_generated_event_sequence(dsn: str, conn: Connection) -> None:
    rng = random.Random(20260504)
    phones = [f"+336123400{n:02d}" for n in range(10)]
    kinds = ["success", "soft", "mailbox_full", "hard", "optout", "ignored", "stop", "start"]
    items = [
        (
            f"e{i}",
            rng.choice(phones),
            T0 + timedelta(minutes=rng.randrange(60 * 24 * 90)),
            rng.choices(kinds, weights=[25, 35, 8, 3, 2, 8, 4, 4])[0],
        )
        for i in range(400)
    ]
    arrival = items[:]
    rng.shuffle(arrival)  # reports arrive out of order, in batches
    expected: dict[str, tuple[str, datetime, str]] = {}
    for batch in range(8):
        for key, phone, at, kind in arrival[batch * 50 : (batch + 1) * 50]:
            if kind in ("stop", "start"):
                inbound(conn, key, at, "Stop" if kind == "stop" else "start", phone)
            else:
                record(conn, key, at, kind, phone)
            expected[key] = (phone, at, kind)
        if batch in (2, 5):  # some outcomes change: a later final report, a re-qualification
            for key in rng.sample(sorted(k for k, v in expected.items() if v[2] not in ("stop", "start")), 15):
                phone, at, _ = expected[key]
                kind = rng.choice(["success", "soft", "hard", "ignored"])
                record(conn, key, at + timedelta(minutes=1), kind, phone)
                expected[key] = (phone, at + timedelta(minutes=1), kind)
        build(dsn)
        if batch in (3, 6):
            quarantine.run_cleanup(T0 + days(12 * batch), dsn=dsn)

    config = QuarantineConfig.from_settings(Settings())
    events = ledger(conn)
    # The ledger holds exactly the events the final data makes (plus the cleanup's releases)...
    made = {
        f"report:twilio:{k}" if v[2] not in ("stop", "start") else f"inbound:{k}": v
        for k, v in expected.items()
        if v[2] != "ignored"
    }
    recorded = {e.key: (phone, e.at, e.kind) for phone, evs in events.items() for e in evs if e.kind != "release"}
    assert recorded == {k: (v[0], v[1], {"mailbox_full": "soft"}.get(v[2], v[2])) for k, v in made.items()}
    # ...and the SQL replay of it, batch after batch, is the Python replay of it in one go.
    states, histories = sql_state(conn), sql_history(conn)
    for phone in phones:
        final, transitions = replay(events.get(phone, []), config)
        assert histories.get(phone, []) == transitions, phone
        assert states.get(phone, State()) == final, phone
    assert {s.status for s in states.values()} >= {"Valid", "With errors", "Quarantine", "Denylisted"}


def test_arrival_order_does_not_change_the_result(dsn: str, conn: Connection) -> None:
    rng = random.Random(7)
    items = [
        (
            f"e{i}",
            T0 + timedelta(hours=rng.randrange(24 * 40)),
            rng.choice(["success", "soft", "soft", "soft", "mailbox_full"]),
        )
        for i in range(60)
    ]
    for key, at, kind in sorted(items, key=lambda item: item[1]):
        record(conn, key, at, kind)
    build(dsn)
    in_order = tables(conn)
    conn.execute(
        "TRUNCATE sms_tracking.quarantine, sms_tracking.quarantine_history, sms_tracking.quarantine_event,"
        " sms_tracking.delivery_log"
    )
    shuffled = items[:]
    rng.shuffle(shuffled)
    for start in range(0, 60, 7):
        for key, at, kind in shuffled[start : start + 7]:
            record(conn, key, at, kind)
        build(dsn)
    assert tables(conn)["quarantine"] == in_order["quarantine"]
    assert tables(conn)["history"] == in_order["history"]


def test_replay_from_a_checkpoint_is_the_replay_from_the_first_event(dsn: str, conn: Connection) -> None:
    # A late or changed report replays its number from the recorded state before the change, not from its
    # first event. After every build, replaying every number from its first event must change nothing: not
    # a state, not a transition, not a kept transition's id. Long histories, changes mostly near their end,
    # moved earlier or later, across releases (the cleanup's and the rule's at an event's time) and ties.
    rng = random.Random(19)
    phones = [f"+336123401{n:02d}" for n in range(12)]
    kinds = ["success", "soft", "mailbox_full", "hard", "optout", "ignored", "stop", "start"]
    weights = [40, 30, 6, 2, 1, 8, 2, 3]
    expected: dict[str, tuple[str, datetime, str]] = {}
    key_count = 0
    config = QuarantineConfig.from_settings(Settings())
    for batch in range(10):
        horizon = days(9 * (batch + 1))
        for _ in range(40):
            key_count += 1
            key, phone = f"e{key_count}", rng.choice(phones)
            at = T0 + horizon - timedelta(hours=rng.randrange(24 * 12))  # new reports, some of them late
            kind = rng.choices(kinds, weights=weights)[0]
            if kind in ("stop", "start"):
                inbound(conn, key, at, "Stop" if kind == "stop" else "start", phone)
            else:
                record(conn, key, at, kind, phone)
            expected[key] = (phone, at, kind)
        reports = sorted(k for k, v in expected.items() if v[2] not in ("stop", "start"))
        for key in rng.sample(reports, 8):  # later final reports, re-qualifications: mostly of recent events
            phone, at, _ = expected[key]
            moved = at + rng.choice([timedelta(0), timedelta(hours=1), -timedelta(hours=3), days(2), -days(4)])
            kind = rng.choice(["success", "soft", "hard", "ignored", "mailbox_full"])
            record(conn, key, moved, kind, phone)
            expected[key] = (phone, moved, kind)
        build(dsn)
        if batch % 3 == 2:
            quarantine.run_cleanup(T0 + horizon, dsn=dsn)
        stored = (
            conn.execute("SELECT * FROM sms_tracking.quarantine ORDER BY 1").fetchall(),
            conn.execute("SELECT * FROM sms_tracking.quarantine_history ORDER BY id").fetchall(),
        )
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(sms_tracking.build_lock())")
            conn.execute(
                "INSERT INTO sms_tracking.pending_quarantine_replay (phone_e164)"
                " SELECT DISTINCT phone_e164 FROM sms_tracking.quarantine_event"
            )
            conn.execute(
                "SELECT sms_tracking.quarantine_apply(%(error_threshold)s,"
                " make_interval(secs => %(significant_error_period)s),"
                " make_interval(secs => %(with_errors_release)s), make_interval(secs => %(mailbox_full_release)s))",
                config.sql_params(),
            )
        replayed = (
            conn.execute("SELECT * FROM sms_tracking.quarantine ORDER BY 1").fetchall(),
            conn.execute("SELECT * FROM sms_tracking.quarantine_history ORDER BY id").fetchall(),
        )
        assert replayed == stored, batch
    states, histories, events = sql_state(conn), sql_history(conn), ledger(conn)
    for phone in phones:
        final, transitions = replay(events.get(phone, []), config)
        assert histories.get(phone, []) == transitions, phone
        assert states.get(phone, State()) == final, phone
    assert {s.status for s in states.values()} >= {"Valid", "With errors", "Quarantine"}


def test_a_release_whose_only_later_event_vanishes_is_undone(dsn: str, conn: Connection) -> None:
    # The release rule is stamped at its due time by the first event at or after it: when that event goes
    # (re-qualified as ignored), so does the release, although it is dated before the change.
    record(conn, "e1", T0, "soft")
    build(dsn)
    record(conn, "e2", T0 + days(11), "success", delivery="D2")
    build(dsn)
    assert state(conn) == ("Valid", 0)
    record(conn, "e2", T0 + days(11), "ignored", delivery="D2")
    build(dsn)
    assert state(conn) == ("With errors", 1)
    assert [row[2] for row in history(conn)] == ["With errors"]


def test_an_expired_history_is_not_read_as_a_checkpoint(dsn: str, conn: Connection) -> None:
    # docs/scaling.md: quarantine_history may lose its oldest rows (retention), the events stay. A late event
    # then replays the number from its first event, not from the transitions left.
    record(conn, "e1", T0, "hard")
    build(dsn)
    record(conn, "e2", T0 + days(800), "soft", delivery="D2")
    record(conn, "e3", T0 + days(801), "success", delivery="D3")
    build(dsn)
    conn.execute("DELETE FROM sms_tracking.quarantine_history WHERE at < %s", (T0 + days(730),))
    record(conn, "e4", T0 + days(800.5), "soft", delivery="D4")  # late: no transition left before it
    build(dsn)
    assert state(conn) == ("Quarantine", 1)  # the checkpoint would have started it Valid


def test_a_history_that_lost_its_first_rows_restarts_from_the_state_a_row_records(dsn: str, conn: Connection) -> None:
    for key, at in (("e1", T0), ("e2", T0 + days(2)), ("e3", T0 + days(4))):
        record(conn, key, at, "soft", delivery=key)
    build(dsn)
    conn.execute("DELETE FROM sms_tracking.quarantine_history WHERE at < %s", (T0 + days(1),))
    record(conn, "e4", T0 + days(3), "soft", delivery="D4")  # late, a period after e2: counted
    build(dsn)
    rows = conn.execute("SELECT status, error_count, first_error_at FROM sms_tracking.quarantine").fetchall()
    assert rows == [("With errors", 4, T0)]  # e1's time, recorded by e2's transition: e1's is gone
    # Replayed from e2's transition: e1's expired one is not written again.
    assert [row[0] for row in history(conn)] == [T0 + days(2), T0 + days(3), T0 + days(4)]


def test_a_transition_written_before_its_state_was_recorded_is_no_checkpoint(dsn: str, conn: Connection) -> None:
    # Rows written before migration 0033 have no error fields: a number whose checkpoint would be one with
    # a count replays from its first event (here e2's transition, read as a checkpoint, would count e3).
    record(conn, "e1", T0, "soft")
    record(conn, "e2", T0 + days(2), "soft", delivery="D2")
    record(conn, "e4", T0 + days(4), "soft", delivery="D4")
    build(dsn)
    conn.execute(
        "UPDATE sms_tracking.quarantine_history SET last_error_at = NULL, first_error_at = NULL,"
        " last_error_reason = NULL"
    )
    record(conn, "e3", T0 + days(2) + timedelta(hours=1), "soft", delivery="D3")  # late, within the period
    build(dsn)
    rows = conn.execute("SELECT status, error_count, last_error_at, first_error_at FROM sms_tracking.quarantine")
    assert rows.fetchall() == [("With errors", 3, T0 + days(4), T0)]
    assert [row[0] for row in history(conn)] == [T0, T0 + days(2), T0 + days(4)]
    # The replay gave the rows it kept their state: the next late event restarts from one of them.
    kept = conn.execute(
        "SELECT at, error_count, last_error_at, first_error_at FROM sms_tracking.quarantine_history ORDER BY at"
    )
    assert kept.fetchall() == [
        (T0, 1, T0, T0),
        (T0 + days(2), 2, T0 + days(2), T0),
        (T0 + days(4), 3, T0 + days(4), T0),
    ]


def test_a_late_success_of_a_valid_number_moves_its_release(dsn: str, conn: Connection) -> None:
    record(conn, "e1", T0, "soft")
    record(conn, "e3", T0 + days(3), "success", delivery="D3")
    build(dsn)
    assert [row[0] for row in history(conn)] == [T0, T0 + days(3)]
    record(conn, "e2", T0 + days(1), "success", delivery="D2")  # late: the number is Valid already
    build(dsn)
    assert state(conn) == ("Valid", 0)
    assert [row[0] for row in history(conn)] == [T0, T0 + days(1)]
