"""What every sms-tracking DAG shares: its retry policy, the database preparation and the build steps."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from airflow.sdk import DAG, Asset, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from sms_tracking.errors import PermanentError

START_DATE = datetime(2026, 1, 1)
DEFAULT_ARGS: dict[str, Any] = {
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
}


def sms_tracking_dag(dag_id: str, schedule: Any, tag: str, doc: str, **kwargs: Any) -> DAG:
    """A DAG with the project's conventions: no catch-up, one run at a time, the retry policy, its tags."""
    return DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=kwargs.pop("default_args", DEFAULT_ARGS),
        tags=["sms-tracking", tag],
        doc_md=doc,
        **kwargs,
    )


F = TypeVar("F", bound=Callable[..., Any])


def fail_fast(function: F) -> F:
    """Fail the task without its retries when the failure is permanent: a retry would read the same file,
    configuration or data, only later (put it under ``@task``)."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except PermanentError as exc:
            raise AirflowFailException(str(exc)) from exc

    return run  # type: ignore[return-value]


@task
def prepare_database() -> dict:
    """Migrate the schema and sync the qualification seed before anything reads them."""
    from sms_tracking.pipeline import prepare_database

    return prepare_database()


def build_step(step: str, outlets: list[Asset] | None = None) -> Any:
    """A task running one build step (``include/sql/build/<step>.sql``) for the current run."""

    @task(task_id=step, outlets=outlets or [])
    @fail_fast
    def run_step() -> dict:
        from sms_tracking.pipeline import build_step

        ti = get_current_context()["ti"]
        return build_step(step, run_id=ti.run_id, dag_id=ti.dag_id)

    return run_step()
