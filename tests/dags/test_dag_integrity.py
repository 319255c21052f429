"""Every DAG parses with no import error, without touching a database or the network."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from tests.landing import config_file

DAGS = Path("dags").resolve()
"""The checkout's DAG files (pytest runs from the top of the checkout)."""


@pytest.fixture
def no_network_or_db(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing must not open a socket (Postgres, HTTP) nor read a connection or variable."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("DAG parsing tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    from airflow.sdk import BaseHook, Variable

    monkeypatch.setattr(BaseHook, "get_connection", classmethod(lambda cls, conn_id: refuse()))
    monkeypatch.setattr(Variable, "get", staticmethod(lambda *a, **k: refuse()))


def test_every_dag_file_imports_cleanly(no_network_or_db: None) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) >= {
        "sms_tracking_build",
        "sms_tracking_ingest_campaign",
        "sms_tracking_ingest_smpp_main",
        "sms_tracking_ingest_twilio_callbacks",
        "sms_tracking_ingest_twilio_api",
        "sms_tracking_cleanup",
        "sms_tracking_requalify",
    }


def test_ingest_dags_announce_the_asset_the_build_waits_for(no_network_or_db: None) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    build = bag.dags["sms_tracking_build"]
    scheduled_on = {asset.name for asset in build.timetable.asset_condition.objects}  # type: ignore[union-attr]
    for dag_id in bag.dag_ids:
        if dag_id.startswith("sms_tracking_ingest_"):
            outlets = {o.name for t in bag.dags[dag_id].tasks for o in t.outlets}
            assert outlets and outlets <= scheduled_on, dag_id


API_SOURCES = """
sources:
  - name: twilio_pull
    provider: twilio
    transport: api
    conn_id: twilio_main
    path: reports/twilio_pull
    options: {page_size: 500, lookback: 6h}
  - name: infobip_pull
    provider: infobip
    transport: api
    conn_id: infobip_main
    path: reports/infobip_pull
  - name: smpp_main
    provider: smpp
    format: smpp
    path: reports/smpp_main
"""


def test_an_api_source_gets_a_pull_dag_that_moves_its_watermark_last(
    no_network_or_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    config_file(monkeypatch, tmp_path / "sources.yaml", "sources", API_SOURCES)
    bag = DagBag(dag_folder=str(DAGS / "sms_tracking_ingest.py"))
    assert bag.import_errors == {}
    for name in ("twilio_pull", "infobip_pull"):
        dag = bag.dags[f"sms_tracking_ingest_{name}"]
        assert dag.get_task("prepare_database").downstream_task_ids == {"pull"}
        assert dag.get_task("pull").downstream_task_ids == {"pending_objects", "advance_watermark"}
        assert dag.get_task("load_object").downstream_task_ids >= {"advance_watermark"}
        advance = dag.get_task("advance_watermark")
        assert advance.trigger_rule == "none_failed" and not advance.downstream_task_ids
    files = bag.dags["sms_tracking_ingest_smpp_main"]
    assert "pull" not in files.task_ids and "advance_watermark" not in files.task_ids


def test_every_task_of_a_dag_runs_after_its_database_is_prepared(no_network_or_db: None) -> None:
    """On an empty database a task that reads the schema before ``prepare_database`` fails (and retries)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    for dag_id, dag in bag.dags.items():
        prepared = dag.get_task("prepare_database").get_flat_relative_ids(upstream=False)
        assert prepared == set(dag.task_ids) - {"prepare_database"}, dag_id


def test_the_packaged_dags_are_what_the_dag_files_define(no_network_or_db: None, tmp_path: Path) -> None:
    """The one-line DAG file a deployment drops into its DAGs folder gives the same DAGs, tasks and wiring."""
    from airflow.dag_processing.dagbag import DagBag

    one_line = tmp_path / "sms_tracking_dags.py"
    one_line.write_text("# Airflow DAGs of sms-tracking\nfrom sms_tracking.dags.all import *  # noqa: F403\n")
    packaged = DagBag(dag_folder=str(tmp_path))
    files = DagBag(dag_folder=str(DAGS))
    assert packaged.import_errors == {} and set(packaged.dag_ids) == set(files.dag_ids)
    for dag_id, dag in packaged.dags.items():
        assert dag.fileloc == str(one_line)
        wiring = {task.task_id: task.downstream_task_ids for task in dag.tasks}
        assert wiring == {task.task_id: task.downstream_task_ids for task in files.dags[dag_id].tasks}, dag_id
