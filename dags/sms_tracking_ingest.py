"""Ingest DAGs: one per report source of the sources file, plus one for the sending system's files.

Each run lists the objects whose content is new, loads each in a mapped task (one transaction per
object, COPY into Postgres), and announces the Asset the build DAG waits for. A source with
``transport: api`` first pulls its provider's API into landing pages, and moves its watermark last,
once every page is loaded (docs/pull.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, get_current_context, task

from sms_tracking.assets import CAMPAIGN, REPORTS
from sms_tracking.config import load_sources

DEFAULT_ARGS = {"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True}


def ingest_dag(
    dag_id: str, source_name: str, schedule: str | None, outlet: Asset, doc: str, transport: str = "files"
) -> DAG:
    with DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["sms-tracking", "ingest"],
        doc_md=doc,
    ) as dag:

        @task
        def prepare_database() -> dict:
            from sms_tracking.pipeline import prepare_database

            return prepare_database()

        @task
        def pending_objects() -> list[str]:
            from sms_tracking.pipeline import pending_objects

            return pending_objects(source_name)

        @task(max_active_tis_per_dagrun=4)
        def load_object(uri: str) -> dict:
            from sms_tracking.ingest import RunInfo
            from sms_tracking.pipeline import load

            ti = get_current_context()["ti"]
            return load(source_name, uri, RunInfo(ti.dag_id, ti.run_id, ti.task_id))

        @task(outlets=[outlet], trigger_rule="all_done")
        def announce(results: list[dict]) -> dict:
            totals = {key: sum(r.get(key, 0) for r in results) for key in ("rows_read", "rows_loaded", "rows_rejected")}
            return {"objects": len(results), **totals}

        if transport == "api":

            @task
            def pull() -> dict:
                from sms_tracking.pull import pull, run_end

                context = get_current_context()
                until = run_end(context.get("data_interval_end"), context["dag_run"].run_after)
                return pull(source_name, until)

            # none_failed: a window without pages maps no load task (skipped) and still moves the watermark.
            @task(trigger_rule="none_failed")
            def advance_watermark(pulled: dict) -> dict:
                from sms_tracking.ingest import RunInfo
                from sms_tracking.pull import advance_watermark

                ti = get_current_context()["ti"]
                return advance_watermark(source_name, pulled, RunInfo(ti.dag_id, ti.run_id, ti.task_id))

            pulled = pull()
            pending = pending_objects()
            prepare_database() >> pulled >> pending
            loaded = load_object.expand(uri=pending)
            loaded >> advance_watermark(pulled)
        else:
            loaded = load_object.expand(uri=pending_objects())
            prepare_database() >> loaded
        announce(loaded)
        # A leaf that fails the run when any object failed, while the announce above still lets the
        # build use what did load.
        loaded >> EmptyOperator(task_id="all_objects_loaded")
    return dag


ingest_dag(
    "sms_tracking_ingest_campaign",
    "campaign",
    "@hourly",
    CAMPAIGN,
    "Loads the sending system's deliveries, target lists, send log, clicks and inbound messages.",
)
for _source in load_sources():
    if _source.transport == "api":
        _doc = (f"Pulls `{_source.provider}` reports through connection `{_source.conn_id}` into "
                f"`{_source.path}`, loads them, then moves the source's watermark.")
    else:
        _doc = f"Loads `{_source.format}` reports of provider `{_source.provider}` from `{_source.path}`."
    ingest_dag(
        f"sms_tracking_ingest_{_source.name}", _source.name, _source.schedule, REPORTS, _doc, _source.transport
    )
