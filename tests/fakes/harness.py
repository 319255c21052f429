"""What the pull tests share: an api source wired to a fake, and one DAG run's tasks called in order."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.landing import prepare

FAST_RETRIES = {
    "AIRFLOW__SMS_TRACKING__PULL_TIMEOUT": "0.5",
    "AIRFLOW__SMS_TRACKING__PULL_MAX_ATTEMPTS": "3",
    "AIRFLOW__SMS_TRACKING__PULL_BACKOFF": "0.05",
    "AIRFLOW__SMS_TRACKING__PULL_BACKOFF_MAX": "2",
    "AIRFLOW__SMS_TRACKING__PULL_MAX_WAIT": "5",
}


def configure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sources: str, connections: dict[str, dict[str, Any]]
) -> Path:
    """Point the pipeline at a sources file, a landing folder and connections (AIRFLOW_CONN_<ID> JSON)."""
    landing = prepare(monkeypatch, tmp_path, sources=sources)
    for conn_id, connection in connections.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
    for name, value in FAST_RETRIES.items():
        monkeypatch.setenv(name, value)
    return landing


def load_pending(source: str, dsn: str) -> list[dict[str, Any]]:
    """The DAG's pending_objects and mapped load_object tasks: each object is tried, the first failure raised."""
    from sms_tracking import pipeline

    results, failures = [], []
    for uri in pipeline.pending_objects(source, dsn=dsn):
        try:
            results.append(pipeline.load(source, uri, dsn=dsn))
        except Exception as exc:  # a mapped task fails alone; the others still run
            failures.append(exc)
    if failures:
        raise failures[0]
    return results


def run_source(source: str, until: datetime, dsn: str) -> dict[str, Any]:
    """One run of an api source's DAG, task by task: pull, load what is pending, advance the watermark."""
    from sms_tracking import pull

    pulled = pull.pull(source, until, dsn=dsn)
    loaded = load_pending(source, dsn)
    advanced = pull.advance_watermark(source, pulled, dsn=dsn)
    return {"pulled": pulled, "loaded": loaded, "advanced": advanced}


def watermark(dsn: str, source: str) -> datetime | None:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT watermark FROM sms_tracking.source_watermark WHERE source = %s", (source,)
        ).fetchone()
    return row[0] if row else None


def count(dsn: str, sql: str, *params: Any) -> int:
    with psycopg.connect(dsn) as conn:
        return int(conn.execute(sql, params).fetchone()[0])  # type: ignore[index]
