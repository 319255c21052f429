"""Build DAG: qualify new reports, rebuild the delivery log and the summaries of what they touched.

Runs when an ingest DAG announces new data. Each step is one SQL file in ``include/sql/build`` run in
one transaction under an advisory lock, so concurrent runs serialise and a retry repeats cleanly.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, chain, get_current_context, task

from sms_tracking.assets import CAMPAIGN, DELIVERY_LOG, REPORTS
from sms_tracking.pipeline import BUILD_STEPS

with DAG(
    dag_id="sms_tracking_build",
    schedule=REPORTS | CAMPAIGN,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True},
    tags=["sms-tracking", "build"],
    doc_md=__doc__,
):

    @task
    def prepare_database() -> dict:
        from sms_tracking.pipeline import prepare_database

        return prepare_database()

    def build_step(step: str, outlets: list | None = None):
        @task(task_id=step, outlets=outlets or [])
        def run_step() -> dict:
            from sms_tracking.pipeline import build_step

            return build_step(step, run_id=get_current_context()["run_id"])

        return run_step()

    @task
    def validate() -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from sms_tracking.quality import ValidationFailed, validate_run

        try:
            return validate_run(get_current_context()["run_id"])
        except ValidationFailed as failed:
            raise AirflowFailException(str(failed)) from failed  # bad data is no better on a retry

    chain(
        prepare_database(),
        *(build_step(step, outlets=[DELIVERY_LOG] if step == BUILD_STEPS[-1] else None) for step in BUILD_STEPS),
        validate(),
    )
