"""Re-qualification DAG: after a qualification row was edited, bring the history in line with it.

Triggered by hand. Applies the qualification overrides file (rows with origin `user`; a row can also be
edited directly in sms_tracking.qualification), re-queues the delivery-log rows whose outcome no longer
matches the table (optionally only for one provider, status or error code), runs the build steps
(delivery log, quarantine replay of the numbers concerned, summaries) and journals the before and after
counts in sms_tracking.audit_event (docs/quarantine.md, "Re-qualification").
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from airflow.sdk import DAG, Param, chain, get_current_context, task

from sms_tracking.assets import DELIVERY_LOG
from sms_tracking.dags.common import build_step, prepare_database, sms_tracking_dag
from sms_tracking.pipeline import BUILD_STEPS

if TYPE_CHECKING:
    from sms_tracking.audit import RunInfo

DAG_ID = "sms_tracking_requalify"


def _run() -> RunInfo:
    """The current task, for the audit journal."""
    from sms_tracking.audit import RunInfo

    ti = get_current_context()["ti"]
    return RunInfo(ti.dag_id, ti.run_id, ti.task_id)


def requalify_dag() -> DAG:
    with sms_tracking_dag(
        DAG_ID,
        None,
        "qualification",
        __doc__ or "",
        default_args={"retries": 1, "retry_delay": timedelta(seconds=30)},
        params={
            "provider": Param(None, type=["null", "string"], description="only this provider (smpp, twilio, ...)"),
            "raw_status": Param(None, type=["null", "string"], description="only this provider status (UNDELIV, ...)"),
            "error_code": Param(None, type=["null", "string"], description="only this error code (077 or 77)"),
            "apply_overrides": Param(True, type="boolean", description="apply qualification_overrides.yaml first"),
        },
    ) as dag:

        @task
        def apply_overrides() -> int:
            from sms_tracking.pipeline import apply_qualification_overrides

            return apply_qualification_overrides() if get_current_context()["params"]["apply_overrides"] else 0

        @task
        def requeue() -> dict:
            from sms_tracking.pipeline import requalify

            params = get_current_context()["params"]
            return requalify(params["provider"], params["raw_status"], params["error_code"], run=_run())

        @task
        def report() -> dict:
            from sms_tracking.pipeline import requalify_report

            return requalify_report(_run())

        chain(
            prepare_database(),
            apply_overrides(),
            requeue(),
            *(build_step(step, outlets=[DELIVERY_LOG] if step == BUILD_STEPS[-1] else None) for step in BUILD_STEPS),
            report(),
        )
    return dag
