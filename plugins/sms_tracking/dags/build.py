"""Build DAG: qualify new reports, rebuild the delivery log and the summaries of what they touched.

Runs when an ingest DAG announces new data. Each step is one SQL file in ``include/sql/build`` run in
one transaction under an advisory lock, so concurrent runs serialise and a retry repeats cleanly.
"""

from __future__ import annotations

from airflow.sdk import DAG, chain, get_current_context, task

from sms_tracking.assets import CAMPAIGN, DELIVERY_LOG, REPORTS
from sms_tracking.dags.common import build_step, fail_fast, prepare_database, sms_tracking_dag
from sms_tracking.pipeline import BUILD_STEPS

DAG_ID = "sms_tracking_build"


def build_dag() -> DAG:
    with sms_tracking_dag(DAG_ID, REPORTS | CAMPAIGN, "build", __doc__ or "") as dag:

        @task
        @fail_fast  # a failed validation is no better on a retry: the data stays what it is
        def validate() -> dict:
            from sms_tracking.quality import validate_run

            return validate_run(get_current_context()["run_id"])

        chain(
            prepare_database(),
            *(build_step(step, outlets=[DELIVERY_LOG] if step == BUILD_STEPS[-1] else None) for step in BUILD_STEPS),
            validate(),
        )
    return dag
