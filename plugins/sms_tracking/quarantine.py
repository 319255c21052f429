"""Quarantine and denylist of phone numbers: the state machine and its configuration.

The rules live twice on purpose: here as pure functions that the unit tests drive at their
boundaries, and in SQL (``sms_tracking.quarantine_apply``, ``include/sql/functions``), where the build applies
them set-based. An integration test checks that both give the same history (docs/quarantine.md).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sms_tracking.errors import SettingsError

if TYPE_CHECKING:
    from sms_tracking.audit import RunInfo
    from sms_tracking.settings import Settings

log = logging.getLogger(__name__)

VALID = "Valid"
WITH_ERRORS = "With errors"
QUARANTINE = "Quarantine"
DENYLISTED = "Denylisted"
ALLOWLISTED = "Allowlisted"
STATUSES = (VALID, WITH_ERRORS, QUARANTINE, DENYLISTED, ALLOWLISTED)
SETTABLE_STATUSES = (VALID, QUARANTINE, DENYLISTED, ALLOWLISTED)
"""What a user may set by hand; With errors only comes from errors."""

MAILBOX_FULL = "Mailbox full"
DENYLISTED_REASON = "Denylisted"

EVENT_ORDER = ("release", "success", "soft", "hard", "optout", "stop", "start", "set")
"""Event kinds, in the order they apply when they share a timestamp (the SQL uses the same list)."""

CAUSE_KIND = {
    "release": "rule",
    "success": "report",
    "soft": "report",
    "hard": "report",
    "optout": "report",
    "stop": "inbound",
    "start": "inbound",
    "set": "user",
}


@dataclass(frozen=True)
class QuarantineConfig:
    """The quarantine thresholds and keywords; their defaults (Adobe Campaign's) are the declared ones of
    :class:`sms_tracking.settings.Settings`, so ``from_settings(Settings())`` gives them."""

    error_threshold: int
    significant_error_period: timedelta
    with_errors_release: timedelta
    mailbox_full_release: timedelta
    stop_keywords: tuple[str, ...]
    start_keywords: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> QuarantineConfig:
        """The configured rules (``[sms_tracking]``); keywords are folded as inbound texts are."""
        from sms_tracking.settings import get_settings

        settings = settings or get_settings()
        return cls(
            error_threshold=settings.quarantine_error_threshold,
            significant_error_period=settings.significant_error_period,
            with_errors_release=timedelta(days=settings.with_errors_release_days),
            mailbox_full_release=timedelta(days=settings.mailbox_full_release_days),
            stop_keywords=_keywords(settings.stop_keywords, "stop_keywords"),
            start_keywords=_keywords(settings.start_keywords, "start_keywords"),
        )

    def sql_params(self) -> dict[str, Any]:
        """Parameters of the SQL that applies these rules (periods in seconds: exact, time-zone free)."""
        return {
            "error_threshold": self.error_threshold,
            "significant_error_period": self.significant_error_period.total_seconds(),
            "with_errors_release": self.with_errors_release.total_seconds(),
            "mailbox_full_release": self.mailbox_full_release.total_seconds(),
            "stop_keywords": list(self.stop_keywords),
            "start_keywords": list(self.start_keywords),
            "accented": ACCENTED,
            "unaccented": UNACCENTED,
        }


def _keywords(words: Iterable[str], key: str) -> tuple[str, ...]:
    folded = tuple(dict.fromkeys(k for k in (keyword(word) for word in words) if k))
    if not folded:
        raise SettingsError(
            f"[sms_tracking] {key}: no keyword in {list(words)!r}; give a comma-separated list such as STOP,ARRET"
        )
    return folded


# Accents folded before comparing (the database's C locale upper-cases ASCII only); same table in SQL.
ACCENTED = "ÀÂÄÁÉÈÊËÍÎÏÓÔÖÚÙÛÜÇàâäáéèêëíîïóôöúùûüç"
UNACCENTED = "AAAAEEEEIIIOOOUUUUCaaaaeeeeiiiooouuuuc"
_FOLD = str.maketrans(ACCENTED, UNACCENTED)
_SPACES = re.compile(r"\s+", re.ASCII)
_EDGES = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def keyword(text: str) -> str:
    """The keyword an inbound message is compared with: the whole text, case and accents folded,
    spaces collapsed, punctuation around it dropped (``" Stop! "`` and ``"arrêt"`` -> ``STOP``, ``ARRET``)."""
    folded = _SPACES.sub(" ", text.translate(_FOLD))
    return _EDGES.sub("", folded).translate(_ASCII_UPPER)


def inbound_event_kind(text: str, config: QuarantineConfig) -> str | None:
    """``stop``, ``start`` or None for an inbound message; a word in both lists stops."""
    word = keyword(text)
    if word in config.stop_keywords:
        return "stop"
    if word in config.start_keywords:
        return "start"
    return None


def outcome_event_kind(
    status: str, failure_type: str | None, failure_reason: str | None, quarantine_ignored: bool = False
) -> str | None:
    """The event a final delivery-log outcome makes; Ignored failures make none (they never count), nor do
    failures typed by a qualification row in state ignore (``quarantine_ignored``, Adobe's Ignore state)."""
    if status == "delivered":
        return "success"
    if status != "failed" or failure_type in (None, "Ignored") or quarantine_ignored:
        return None
    if failure_reason == DENYLISTED_REASON:
        return "optout"
    return "hard" if failure_type == "Hard" else "soft"


@dataclass(frozen=True)
class State:
    """A number's quarantine state; the default is a Valid number with no error."""

    status: str = VALID
    error_count: int = 0
    last_error_at: datetime | None = None
    last_error_reason: str | None = None
    first_error_at: datetime | None = None


CLEAN = State()


@dataclass(frozen=True)
class Event:
    """Something that happened to a number: see EVENT_ORDER for the kinds."""

    kind: str
    at: datetime
    reason: str | None = None
    key: str = ""
    set_status: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in EVENT_ORDER:
            raise ValueError(f"event kind {self.kind!r} is not one of {EVENT_ORDER}")
        if (self.kind == "set") != (self.set_status is not None):
            raise ValueError("a 'set' event, and only it, names the status to set")


@dataclass(frozen=True)
class Transition:
    """One line of the quarantine history."""

    at: datetime
    from_status: str
    to_status: str
    error_count: int
    cause_kind: str
    event_kind: str
    event_key: str | None
    rule: str | None = None


def order_key(event: Event) -> tuple[datetime, int, str]:
    """Event-time order; ties by kind, then by key (code-point order, as ``COLLATE "C"``)."""
    return event.at, EVENT_ORDER.index(event.kind), event.key


def release_due(state: State, config: QuarantineConfig) -> tuple[str, datetime] | None:
    """The release rule that will free a With errors number, and when: Mailbox full waits longer."""
    if state.status != WITH_ERRORS or state.last_error_at is None:
        return None
    if state.last_error_reason == MAILBOX_FULL:
        return "mailbox_full_release", state.last_error_at + config.mailbox_full_release
    return "with_errors_release", state.last_error_at + config.with_errors_release


def release(state: State, at: datetime, config: QuarantineConfig) -> State:
    """The cleanup's rule at time ``at``: With errors past its release period becomes Valid."""
    due = release_due(state, config)
    return CLEAN if due is not None and due[1] <= at else state


def apply_event(state: State, event: Event, config: QuarantineConfig) -> State:
    """The effect of one event, the release rule aside (see :func:`transition`)."""
    status = state.status
    if event.kind == "set":
        target = str(event.set_status)
        return State(status=target) if target in (VALID, ALLOWLISTED) else replace(state, status=target)
    if event.kind in ("optout", "stop"):
        return replace(state, status=DENYLISTED)
    if event.kind == "start":
        return CLEAN if status == DENYLISTED else state
    if event.kind == "release" or status not in (VALID, WITH_ERRORS):
        # Quarantine and Denylisted are never released by mail; Allowlisted numbers ignore errors.
        return state
    if event.kind == "success":
        return CLEAN
    if event.kind == "hard":
        return State(QUARANTINE, state.error_count + 1, event.at, event.reason, state.first_error_at or event.at)
    if state.last_error_at is not None and event.at - state.last_error_at < config.significant_error_period:
        return state
    count = state.error_count + 1
    return State(
        QUARANTINE if count >= config.error_threshold else WITH_ERRORS,
        count,
        event.at,
        event.reason,
        state.first_error_at or event.at,
    )


def transition(state: State, event: Event, config: QuarantineConfig) -> State:
    """A number's state after ``event``: the release rule at the event's time, then the event."""
    return apply_event(release(state, event.at, config), event, config)


def replay(events: Iterable[Event], config: QuarantineConfig, start: State = CLEAN) -> tuple[State, list[Transition]]:
    """Apply a number's events in order; returns its final state and its history."""
    state = start
    history: list[Transition] = []
    for event in sorted(events, key=order_key):
        due = release_due(state, config)
        if due is not None and due[1] <= event.at:
            explicit = event.kind == "release"
            history.append(
                Transition(
                    event.at if explicit else due[1],
                    state.status,
                    VALID,
                    0,
                    "rule",
                    "release",
                    event.key if explicit else None,
                    due[0],
                )
            )
            state = CLEAN
        after = apply_event(state, event, config)
        if (after.status, after.error_count) != (state.status, state.error_count):
            history.append(
                Transition(
                    event.at,
                    state.status,
                    after.status,
                    after.error_count,
                    CAUSE_KIND[event.kind],
                    event.kind,
                    event.key,
                )
            )
        state = after
    return state, history


def run_cleanup(reference_time: datetime, run: RunInfo | None = None, dsn: str | None = None) -> dict[str, int]:
    """Apply the release rules at ``reference_time`` (the run's data interval end, so a re-run repeats)."""
    from sms_tracking import db

    config = QuarantineConfig.from_settings()
    params = {
        **config.sql_params(),
        "reference_time": reference_time,
        "dag_id": getattr(run, "dag_id", None),
        "run_id": getattr(run, "run_id", None),
        "task_id": getattr(run, "task_id", None),
    }
    with closing(db.connect(dsn)) as conn, conn.transaction():
        db.run_sql_file(conn, "cleanup/release.sql", params)
        released = dict(
            conn.execute(
                "SELECT rule, count(*) FROM sms_tracking.quarantine_history"
                " WHERE cause_kind = 'rule' AND at = %s GROUP BY rule",
                (reference_time,),
            ).fetchall()
        )
    log.info("Cleanup at %s: released %s", reference_time.isoformat(), released or "nothing")
    return {"released": sum(released.values()), **released}


def set_status(
    phone: str,
    status: str,
    actor: str,
    note: str | None = None,
    at: datetime | None = None,
    dsn: str | None = None,
) -> str:
    """Put a number in a status by hand (release, allowlist, quarantine, denylist), recorded as a user event.

    Changing the quarantine table directly would be undone by the next replay of the number.
    """
    return set_statuses([phone], status, actor, note, at, dsn)[0]


def set_statuses(
    phones: Sequence[str],
    status: str,
    actor: str,
    note: str | None = None,
    at: datetime | None = None,
    dsn: str | None = None,
) -> list[str]:
    """:func:`set_status` for many numbers at once: one user event each, applied in one transaction."""
    from sms_tracking import db
    from sms_tracking.phone import to_e164

    if status not in SETTABLE_STATUSES:
        raise ValueError(f"status {status!r} cannot be set by hand; expected one of {SETTABLE_STATUSES}")
    numbers = []
    for phone in phones:
        e164 = to_e164(phone)
        if e164 is None:
            raise ValueError(f"{phone!r} is not a phone number (expected international form, e.g. +33612345678)")
        numbers.append(e164)
    config = QuarantineConfig.from_settings().sql_params()
    with closing(db.connect(dsn)) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(sms_tracking.build_lock())")
        conn.execute(
            """WITH recorded AS (
                   INSERT INTO sms_tracking.quarantine_event
                          (event_key, phone_e164, at, kind, reason, set_status, cause_kind, actor)
                   SELECT k, p, coalesce(%s, now()), 'set', %s, %s, 'user', %s
                     FROM unnest(%s::text[], %s::text[]) AS e(k, p)
                   RETURNING event_key, phone_e164, at)
               INSERT INTO sms_tracking.pending_quarantine_event SELECT event_key, phone_e164, at FROM recorded""",
            (at, note, status, actor, [f"user:{uuid.uuid4()}" for _ in numbers], numbers),
        )
        conn.execute(
            """SELECT sms_tracking.quarantine_apply(%(error_threshold)s,
                   make_interval(secs => %(significant_error_period)s), make_interval(secs => %(with_errors_release)s),
                   make_interval(secs => %(mailbox_full_release)s))""",
            config,
        )
    log.info("%s set %d number(s) to %s", actor, len(numbers), status)
    return numbers
