"""Ingest DAGs: one per report source of the sources file, plus one for the sending system's files.

Each run lists the objects whose content is new, loads each in a mapped task (one transaction per
object, COPY into Postgres), and announces the Asset the build DAG waits for. A source with
``transport: api`` first pulls its provider's API into landing pages, and moves its watermark last,
once every page is loaded (docs/pull.md).
"""

from __future__ import annotations

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, get_current_context, task

from sms_tracking.assets import CAMPAIGN, REPORTS
from sms_tracking.config import Source, load_sources
from sms_tracking.dags.common import fail_fast, prepare_database, sms_tracking_dag
from sms_tracking.settings import get_settings

CAMPAIGN_DAG_ID = "sms_tracking_ingest_campaign"


def ingest_dag_id(source_name: str) -> str:
    return f"sms_tracking_ingest_{source_name}"


def ingest_dag(
    dag_id: str, source_name: str, schedule: str | None, outlet: Asset, doc: str, transport: str = "files"
) -> DAG:
    with sms_tracking_dag(dag_id, schedule, "ingest", doc) as dag:

        @task
        @fail_fast
        def pending_objects() -> list[str]:
            from sms_tracking.pipeline import pending_objects

            return pending_objects(source_name)

        @task(max_active_tis_per_dagrun=4)
        @fail_fast
        def load_object(uri: str) -> dict:
            from sms_tracking.audit import RunInfo
            from sms_tracking.pipeline import load

            ti = get_current_context()["ti"]
            return load(source_name, uri, RunInfo(ti.dag_id, ti.run_id, ti.task_id))

        @task(outlets=[outlet], trigger_rule="all_done")
        def announce(results: list[dict]) -> dict:
            totals = {key: sum(r.get(key, 0) for r in results) for key in ("rows_read", "rows_loaded", "rows_rejected")}
            return {"objects": len(results), **totals}

        prepared = prepare_database()
        if transport == "api":

            @task
            @fail_fast
            def pull() -> dict:
                from sms_tracking.pull import pull, run_end

                context = get_current_context()
                until = run_end(context.get("data_interval_end"), context["dag_run"].run_after)
                return pull(source_name, until)

            # none_failed: a window without pages maps no load task (skipped) and still moves the watermark.
            @task(trigger_rule="none_failed")
            @fail_fast
            def advance_watermark(pulled: dict) -> dict:
                from sms_tracking.audit import RunInfo
                from sms_tracking.pull import advance_watermark

                ti = get_current_context()["ti"]
                return advance_watermark(source_name, pulled, RunInfo(ti.dag_id, ti.run_id, ti.task_id))

            pulled = pull()
            pending = pending_objects()
            prepared >> pulled >> pending
            loaded = load_object.expand(uri=pending)
            loaded >> advance_watermark(pulled)
        else:
            # The listing reads sms_tracking.source_object: on an empty database it must wait for the schema.
            pending = pending_objects()
            prepared >> pending
            loaded = load_object.expand(uri=pending)
        announce(loaded)
        # A leaf that fails the run when any object failed, while the announce above still lets the
        # build use what did load.
        loaded >> EmptyOperator(task_id="all_objects_loaded")
    return dag


def source_dag(source: Source) -> DAG:
    """The ingest DAG of one report source."""
    if source.transport == "api":
        doc = (
            f"Pulls `{source.provider}` reports through connection `{source.conn_id}` into "
            f"`{source.path}`, loads them, then moves the source's watermark."
        )
    else:
        doc = f"Loads `{source.format}` reports of provider `{source.provider}` from `{source.path}`."
    return ingest_dag(ingest_dag_id(source.name), source.name, source.schedule, REPORTS, doc, source.transport)


def ingest_dags() -> list[DAG]:
    """The campaign DAG, then one DAG per source of the sources file."""
    campaign = ingest_dag(
        CAMPAIGN_DAG_ID,
        "campaign",
        get_settings().campaign_schedule,
        CAMPAIGN,
        "Loads the sending system's deliveries, target lists, send log, clicks and inbound messages.",
    )
    return [campaign, *(source_dag(source) for source in load_sources())]
