"""The real DAGs through ``airflow dags test`` on the bundled sample data and a real Postgres."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from sms_tracking_dev import sample_landing
from sms_tracking_dev.demo import pipeline_dag_ids

pytestmark = [pytest.mark.integration, pytest.mark.airflow]


def dags_test(dag_id: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", dag_id],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"{dag_id} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def tables(dsn: str) -> dict[str, list[tuple]]:
    with psycopg.connect(dsn) as conn:
        return {
            "delivery_log": conn.execute(
                "SELECT provider, provider_message_id, status, failure_type, failure_reason, done_at "
                "FROM sms_tracking.delivery_log ORDER BY 1, 2"
            ).fetchall(),
            "summary": conn.execute(
                "SELECT delivery_id, sent, delivered, failed, pending, success, hard, soft, ignored "
                "FROM sms_tracking.delivery_summary ORDER BY 1"
            ).fetchall(),
            "report": conn.execute("SELECT count(*) FROM sms_tracking.report").fetchall(),
            "reject": conn.execute("SELECT count(*) FROM sms_tracking.reject").fetchall(),
        }


def test_pipeline_runs_end_to_end_through_airflow_and_reruns_identically(
    dsn: str, airflow_db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Tasks reach Postgres through the Airflow connection, as in production.
    monkeypatch.delenv("SMS_TRACKING_DSN")
    landing = tmp_path / "landing"
    shutil.copytree(sample_landing(), landing)
    env = {**os.environ, "AIRFLOW_CONN_SMS_TRACKING_POSTGRES": dsn, "AIRFLOW__SMS_TRACKING__LANDING": str(landing)}
    for dag_id in pipeline_dag_ids():
        dags_test(dag_id, env)
    first = tables(dsn)
    assert first["delivery_log"], "the build wrote no delivery log"
    for _, sent, delivered, failed, pending, success, hard, soft, ignored in first["summary"]:
        assert sent == delivered + failed + pending
        assert success == delivered + pending
        assert failed == hard + soft + ignored
    with psycopg.connect(dsn) as conn:
        objects = conn.execute(
            "SELECT count(*), count(DISTINCT run_id) FROM sms_tracking.source_object WHERE status = 'loaded'"
        ).fetchone()
    assert objects is not None and objects[0] >= 5 and objects[1] >= 4

    # A second run of an ingest DAG and of the build (the files are unchanged) changes nothing.
    for dag_id in ("sms_tracking_ingest_smpp_main", "sms_tracking_build"):
        dags_test(dag_id, env)
    assert tables(dsn) == first
