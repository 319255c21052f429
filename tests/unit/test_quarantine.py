"""The quarantine rules as pure functions, at their boundaries (Adobe's defaults unless a test says)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sms_tracking.errors import SettingsError
from sms_tracking.quarantine import (
    ALLOWLISTED,
    CLEAN,
    DENYLISTED,
    QUARANTINE,
    VALID,
    WITH_ERRORS,
    Event,
    QuarantineConfig,
    State,
    inbound_event_kind,
    keyword,
    outcome_event_kind,
    release,
    replay,
    transition,
)
from sms_tracking.settings import Settings

CONFIG = QuarantineConfig.from_settings(Settings())
"""The declared defaults (Adobe Campaign's)."""
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def soft(at: datetime, reason: str = "Unreachable", key: str = "") -> Event:
    return Event("soft", at, reason, key or f"soft@{at.isoformat()}")


def run(*events: Event, config: QuarantineConfig = CONFIG, start: State = CLEAN) -> State:
    state = start
    for event in events:
        state = transition(state, event, config)
    return state


def days(n: float) -> timedelta:
    return timedelta(days=n)


def test_fourth_significant_soft_error_leaves_the_number_with_errors() -> None:
    state = run(*(soft(T0 + days(i)) for i in range(4)))
    assert (state.status, state.error_count) == (WITH_ERRORS, 4)
    assert state.first_error_at == T0
    assert state.last_error_at == T0 + days(3)


def test_fifth_significant_soft_error_quarantines() -> None:
    state = run(*(soft(T0 + days(i)) for i in range(5)))
    assert (state.status, state.error_count) == (QUARANTINE, 5)


def test_soft_errors_less_than_24h_apart_count_once() -> None:
    state = run(soft(T0), soft(T0 + timedelta(hours=23, minutes=59, seconds=59)))
    assert (state.status, state.error_count, state.last_error_at) == (WITH_ERRORS, 1, T0)


def test_soft_error_exactly_24h_after_the_last_counted_one_counts() -> None:
    state = run(soft(T0), soft(T0 + timedelta(hours=24)))
    assert state.error_count == 2


def test_significant_period_runs_from_the_last_counted_error() -> None:
    # 20 h after the first error does not count; 40 h after it does, although only 20 h after the last seen.
    state = run(soft(T0), soft(T0 + timedelta(hours=20)), soft(T0 + timedelta(hours=40)))
    assert state.error_count == 2


def test_threshold_and_period_are_configurable() -> None:
    config = replace(CONFIG, error_threshold=2, significant_error_period=timedelta(hours=1))
    state = run(soft(T0), soft(T0 + timedelta(hours=1)), config=config)
    assert (state.status, state.error_count) == (QUARANTINE, 2)


def test_hard_error_quarantines_at_once() -> None:
    state = run(Event("hard", T0, "User unknown", "m1"))
    assert (state.status, state.error_count, state.last_error_reason) == (QUARANTINE, 1, "User unknown")


def test_success_resets_with_errors_to_valid() -> None:
    state = run(soft(T0), soft(T0 + days(1)), Event("success", T0 + days(2), key="m3"))
    assert state == CLEAN
    # The next error starts a new series: it counts at once.
    assert run(soft(T0 + days(2) + timedelta(hours=1)), start=state).error_count == 1


def test_success_does_not_release_quarantine_or_denylisted() -> None:
    for status in (QUARANTINE, DENYLISTED):
        assert run(Event("success", T0, key="m"), start=State(status, 2)).status == status


@pytest.mark.parametrize(
    ("status", "failure_type", "failure_reason", "kind"),
    [
        ("delivered", None, None, "success"),
        ("pending", None, None, None),
        ("failed", "Ignored", "Not connected", None),
        ("failed", "Ignored", "Denylisted", None),
        ("failed", "Hard", "Denylisted", "optout"),
        ("failed", "Hard", "User unknown", "hard"),
        ("failed", "Soft", "Mailbox full", "soft"),
    ],
)
def test_delivery_log_outcome_makes_the_right_event(
    status: str, failure_type: str | None, failure_reason: str | None, kind: str | None
) -> None:
    assert outcome_event_kind(status, failure_type, failure_reason) == kind


@pytest.mark.parametrize(("failure_type", "failure_reason"), [("Hard", "User unknown"), ("Soft", "Unreachable")])
def test_a_failure_typed_by_an_ignored_row_makes_no_event(failure_type: str, failure_reason: str) -> None:
    """Adobe's qualification state Ignore (decision 10): the failure keeps its type but never counts."""
    assert outcome_event_kind("failed", failure_type, failure_reason, quarantine_ignored=True) is None
    assert outcome_event_kind("delivered", None, None, quarantine_ignored=False) == "success"


def test_with_errors_is_released_10_days_after_the_last_counted_error() -> None:
    state = run(soft(T0), soft(T0 + days(1)))
    assert release(state, T0 + days(11) - timedelta(seconds=1), CONFIG).status == WITH_ERRORS
    assert release(state, T0 + days(11), CONFIG) == CLEAN


def test_mailbox_full_is_released_after_30_days_not_10() -> None:
    state = run(soft(T0, "Mailbox full"))
    assert release(state, T0 + days(10), CONFIG).status == WITH_ERRORS
    assert release(state, T0 + days(30) - timedelta(seconds=1), CONFIG).status == WITH_ERRORS
    assert release(state, T0 + days(30), CONFIG) == CLEAN


def test_quarantine_and_denylisted_are_never_released() -> None:
    for status in (QUARANTINE, DENYLISTED, ALLOWLISTED):
        state = State(status, 3, T0, "Unreachable", T0)
        assert release(state, T0 + days(3650), CONFIG) == state


def test_counter_restarts_when_the_next_error_comes_after_the_release_period() -> None:
    # Four errors, then a fifth 10 days after the fourth: the cleanup would have released the number.
    errors = [soft(T0 + days(i)) for i in range(4)] + [soft(T0 + days(13))]
    state, history = replay(errors, CONFIG)
    assert (state.status, state.error_count) == (WITH_ERRORS, 1)
    released = [t for t in history if t.cause_kind == "rule"]
    assert [(t.at, t.rule, t.to_status) for t in released] == [(T0 + days(13), "with_errors_release", VALID)]


def test_cleanup_release_event_releases_at_its_own_time() -> None:
    events = [soft(T0), Event("release", T0 + days(12), key="rule:x")]
    state, history = replay(events, CONFIG)
    assert state == CLEAN
    assert (history[-1].at, history[-1].cause_kind, history[-1].event_key) == (T0 + days(12), "rule", "rule:x")


def test_stop_denylists_and_start_lifts_it() -> None:
    state = run(soft(T0), Event("stop", T0 + days(1), "STOP", "in1"))
    assert (state.status, state.error_count) == (DENYLISTED, 1)
    assert run(Event("start", T0 + days(2), "START", "in2"), start=state) == CLEAN


def test_denylisted_ignores_delivery_outcomes() -> None:
    state = State(DENYLISTED)
    assert run(Event("hard", T0, "User unknown", "m"), soft(T0 + days(1)), start=state) == state


def test_start_does_not_release_quarantine() -> None:
    state = State(QUARANTINE, 1, T0, "User unknown", T0)
    assert run(Event("start", T0 + days(1), "START", "in"), start=state) == state


def test_opt_out_of_a_quarantined_number_denylists_it() -> None:
    state = run(Event("hard", T0, "User unknown", "m1"), Event("optout", T0 + days(1), "Denylisted", "m2"))
    assert (state.status, state.error_count) == (DENYLISTED, 1)


def test_allowlisted_number_is_never_quarantined() -> None:
    state = run(
        Event("set", T0, key="u1", set_status=ALLOWLISTED),
        Event("hard", T0 + days(1), "User unknown", "m"),
        *(soft(T0 + days(2 + i)) for i in range(6)),
    )
    assert state == State(ALLOWLISTED)


def test_stop_denylists_even_an_allowlisted_number() -> None:
    assert run(Event("stop", T0, "STOP", "in"), start=State(ALLOWLISTED)).status == DENYLISTED


def test_user_release_clears_the_counter_and_quarantine_keeps_it() -> None:
    quarantined = State(QUARANTINE, 5, T0, "Unreachable", T0)
    assert run(Event("set", T0 + days(1), key="u", set_status=VALID), start=quarantined) == CLEAN
    assert run(Event("set", T0, key="u", set_status=QUARANTINE), start=State(WITH_ERRORS, 2, T0, "x", T0)) == State(
        QUARANTINE, 2, T0, "x", T0
    )


def test_events_at_the_same_time_apply_in_kind_order() -> None:
    # Written in the "wrong" order: success sorts before soft, so the error stays counted.
    _, history = replay([soft(T0, key="b"), Event("success", T0, key="a")], CONFIG)
    assert [t.event_kind for t in history] == ["soft"]


def test_history_has_one_line_per_status_or_counter_change() -> None:
    _, history = replay(
        [soft(T0), soft(T0 + timedelta(hours=1)), soft(T0 + days(1)), Event("success", T0 + days(2), key="ok")], CONFIG
    )
    assert [(t.from_status, t.to_status, t.error_count) for t in history] == [
        (VALID, WITH_ERRORS, 1),
        (WITH_ERRORS, WITH_ERRORS, 2),
        (WITH_ERRORS, VALID, 0),
    ]


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("STOP", "STOP"),
        ("stop", "STOP"),
        (" Stop! ", "STOP"),
        ("STOP ", "STOP"),
        ("Arrêt", "ARRET"),
        ("stop  all", "STOP ALL"),
        ("opt-out.", "OPT-OUT"),
        ("«STOP»", "STOP"),
        ("ok 👍", "OK"),
    ],
)
def test_keyword_folds_case_accents_spaces_and_punctuation(text: str, word: str) -> None:
    assert keyword(text) == word


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("stop", "stop"),
        ("STOPALL", "stop"),
        ("unsubscribe", "stop"),
        ("Cancel", "stop"),
        ("end", "stop"),
        ("quit", "stop"),
        ("arret", "stop"),
        ("OPTOUT", "stop"),
        ("start", "start"),
        ("UNSTOP", "start"),
        ("please stop texting me", None),
        ("End of the day works", None),
        ("Merci", None),
        ("", None),
    ],
)
def test_whole_message_must_be_a_keyword(text: str, kind: str | None) -> None:
    assert inbound_event_kind(text, CONFIG) == kind


def test_config_defaults_are_adobes() -> None:
    config = CONFIG
    assert config.error_threshold == 5
    assert config.significant_error_period == timedelta(hours=24)
    assert config.with_errors_release == days(10)
    assert config.mailbox_full_release == days(30)
    assert {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET", "OPTOUT"} <= set(config.stop_keywords)
    assert config.start_keywords == ("START", "UNSTOP")


def test_config_reads_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "QUARANTINE_ERROR_THRESHOLD": "3",
        "SIGNIFICANT_ERROR_PERIOD": "3600",
        "WITH_ERRORS_RELEASE_DAYS": "7",
        "MAILBOX_FULL_RELEASE_DAYS": "14",
        "STOP_KEYWORDS": "stop, Arrêt ,halt",
        "START_KEYWORDS": "go",
    }.items():
        monkeypatch.setenv(f"AIRFLOW__SMS_TRACKING__{key}", value)
    config = QuarantineConfig.from_settings()
    assert (config.error_threshold, config.significant_error_period) == (3, timedelta(hours=1))
    assert (config.with_errors_release, config.mailbox_full_release) == (days(7), days(14))
    assert (config.stop_keywords, config.start_keywords) == (("STOP", "ARRET", "HALT"), ("GO",))


def test_keywords_that_normalise_to_nothing_are_refused_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__STOP_KEYWORDS", "!!, ?")
    with pytest.raises(SettingsError, match=r"\[sms_tracking\] stop_keywords: no keyword in "):
        QuarantineConfig.from_settings()
