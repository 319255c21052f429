"""Cleanup DAG (Adobe's Database cleanup): release numbers from With errors once their errors are old.

Daily. At the run's reference time (the end of its data interval, so a re-run repeats the same work), a
With errors number whose last counted error is older than SMS_TRACKING_WITH_ERRORS_RELEASE_DAYS (10), or
SMS_TRACKING_MAILBOX_FULL_RELEASE_DAYS (30) after a Mailbox full error, becomes Valid. Quarantine and
Denylisted numbers are never released here (docs/quarantine.md). Validation results older than
SMS_TRACKING_VALIDATION_RETENTION_DAYS (90) are deleted, each check's latest kept (docs/quality.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, get_current_context, task

with DAG(
    dag_id="sms_tracking_cleanup",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True},
    tags=["sms-tracking", "quarantine"],
    doc_md=__doc__,
):

    @task
    def prepare_database() -> dict:
        from sms_tracking.pipeline import prepare_database

        return prepare_database()

    @task
    def release() -> dict:
        from sms_tracking.ingest import RunInfo
        from sms_tracking.quarantine import run_cleanup

        context = get_current_context()
        ti = context["ti"]
        # A manual run has no data interval in Airflow 3: it releases as of when it was asked to run.
        reference = context.get("data_interval_end") or context["dag_run"].run_after
        return run_cleanup(reference, RunInfo(ti.dag_id, ti.run_id, ti.task_id))

    @task
    def purge_validation_results() -> dict:
        from sms_tracking.quality import purge_results

        context = get_current_context()
        return purge_results(context.get("data_interval_end") or context["dag_run"].run_after)

    prepare_database() >> [release(), purge_validation_results()]
