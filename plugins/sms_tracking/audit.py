"""The delivery journal (Adobe's Audit tab) from Python tasks: one call writes one event with the
Airflow DAG run and task that wrote it (docs/audit.md). The build's own events are written in SQL by
``include/sql/build/audit.sql`` into the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

LEVELS = ("info", "warning", "error")
"""Adobe's journal icons: information, a non-blocking warning, an error."""


@dataclass(frozen=True)
class RunInfo:
    """The Airflow run that writes: a loaded object's, a journal event's (ids are None outside Airflow)."""

    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None


def current_run(default: RunInfo | None = None) -> RunInfo:
    """The Airflow task instance running this code; ``default`` (or no ids) outside a task."""
    try:
        from airflow.sdk import get_current_context

        ti = get_current_context()["ti"]
    except (ImportError, RuntimeError, KeyError):
        return default or RunInfo()
    return RunInfo(ti.dag_id, ti.run_id, ti.task_id)


def write_event(
    conn: psycopg.Connection[Any],
    *,
    level: str,
    event: str,
    message: str,
    delivery_id: str | None = None,
    details: dict[str, Any] | None = None,
    run: RunInfo | None = None,
    at: datetime | None = None,
) -> None:
    """Journal one event in the caller's transaction; without ``delivery_id`` it goes to the pipeline's journal.

    ``run`` defaults to the current Airflow task; ``at`` to the transaction's time.
    """
    from psycopg.types.json import Jsonb

    if level not in LEVELS:
        raise ValueError(f"audit level {level!r} is not one of {', '.join(LEVELS)} (event {event!r})")
    if not event or not message:
        raise ValueError("an audit event needs an event name and a message")
    run = run or current_run()
    conn.execute(
        """INSERT INTO sms_tracking.audit_event
               (delivery_id, level, event, message, details, dag_id, run_id, task_id, at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()))""",
        (
            delivery_id,
            level,
            event,
            message,
            Jsonb(details) if details is not None else None,
            run.dag_id,
            run.run_id,
            run.task_id,
            at,
        ),
    )
