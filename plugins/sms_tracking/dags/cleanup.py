"""Cleanup DAG (Adobe's Database cleanup): release numbers from With errors once their errors are old.

Daily. At the run's reference time (the end of its data interval, so a re-run repeats the same work), a
With errors number whose last counted error is older than the With errors release period
(``with_errors_release_days``), or the Mailbox full release period (``mailbox_full_release_days``) after
a Mailbox full error, becomes Valid. Quarantine and Denylisted numbers are never released here
(docs/quarantine.md). Validation results older than the
retention period (``validation_retention_days``) are deleted, each check's latest kept (docs/quality.md).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, get_current_context, task

from sms_tracking.dags.common import prepare_database, sms_tracking_dag


def _reference_time() -> datetime:
    """The run's reference time: a manual run has no data interval in Airflow 3, so it is when it was asked for."""
    context = get_current_context()
    return context.get("data_interval_end") or context["dag_run"].run_after


def cleanup_dag() -> DAG:
    with sms_tracking_dag("sms_tracking_cleanup", "@daily", "quarantine", __doc__ or "") as dag:

        @task
        def release() -> dict:
            from sms_tracking.audit import RunInfo
            from sms_tracking.quarantine import run_cleanup

            ti = get_current_context()["ti"]
            return run_cleanup(_reference_time(), RunInfo(ti.dag_id, ti.run_id, ti.task_id))

        @task
        def purge_validation_results() -> dict:
            from sms_tracking.quality import purge_results

            return purge_results(_reference_time())

        prepare_database() >> [release(), purge_validation_results()]
    return dag
