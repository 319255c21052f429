"""Every DAG parses with no import error, without touching a database or the network."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


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
