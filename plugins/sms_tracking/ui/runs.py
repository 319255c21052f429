"""Runs of the re-qualification DAG started from the view: the only module that touches Airflow's DAG runs.

A qualification edit creates a run of ``sms_tracking_requalify`` as Airflow's own trigger route does
(``airflow.api.common.trigger_dag``, in the API server's process, on its metadata database), queued for the
scheduler with the user as its triggering user; the page then reads the run's state from the same database.
Inside Airflow's API server no token or HTTP round trip is needed; elsewhere (tests without a metadata
database) the run cannot be created, and the page says so instead of failing the edit.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)


def dag_id() -> str:
    from sms_tracking.dags.requalify import DAG_ID

    return DAG_ID


def new_run_id(now: datetime | None = None) -> str:
    """A run id of our own, known before the run exists: the edit journals it in the same transaction."""
    return f"qualification__{(now or datetime.now(UTC)).strftime('%Y-%m-%dT%H:%M:%S')}_{secrets.token_hex(4)}"


def start(run_id: str, conf: dict[str, Any], username: str) -> str | None:
    """Create the queued run; None, or why Airflow refused (the edit is kept; the DAG can be run by hand)."""
    try:
        from airflow.api.common.trigger_dag import trigger_dag
        from airflow.utils.types import DagRunTriggeredByType

        trigger_dag(
            dag_id(), triggered_by=DagRunTriggeredByType.UI, triggering_user_name=username, run_id=run_id, conf=conf
        )
    except Exception as exc:  # any failure on Airflow's side leaves the edit valid
        log.warning("Could not start %s run %s: %s", dag_id(), run_id, exc)
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return None


def states(run_ids: Iterable[str]) -> dict[str, str]:
    """The state of each run Airflow knows (queued, running, success, failed); unknown runs are left out."""
    wanted = sorted(set(run_ids))
    if not wanted:
        return {}
    try:
        from airflow.models import DagRun
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            rows = session.execute(
                select(DagRun.run_id, DagRun.state).where(DagRun.dag_id == dag_id(), DagRun.run_id.in_(wanted))
            ).all()
    except Exception as exc:  # the page shows the edits without their run state
        log.warning("Could not read the %s runs: %s", dag_id(), exc)
        return {}
    return {run_id: str(getattr(state, "value", state)) for run_id, state in rows}
