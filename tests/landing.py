"""Landing folders and the pipeline run in-process, the one copy every test uses.

A test lands its files, then calls the ingest and build steps in the order the DAG tasks call them:
each source's pending objects loaded one by one, then every build step under one run id.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sms_tracking.audit import RunInfo

SOURCES = ("campaign", "smpp_main", "twilio_callbacks", "twilio_api")
"""The campaign contract and the default sources file's report sources."""


def write(root: Path, relative: str, text: str) -> Path:
    """One landing file, its folders made as needed."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_all(root: Path, files: Mapping[str, str]) -> Path:
    for relative, text in files.items():
        write(root, relative, text)
    return root


def write_twilio_landing(
    root: Path, phones: Mapping[str, str], callbacks: Mapping[str, tuple[datetime, list[str]]]
) -> None:
    """Delivery D1 (Twilio), its send log (a message per (message id, phone), sent at 08:00) and Twilio callback
    files (name -> (arrival, lines)), each file's time set to its arrival."""
    write_all(
        root,
        {
            "deliveries/d.csv": "delivery_id,name,content,provider,created_at\n"
            "D1,Promo,Hi,twilio,2026-05-04T07:00:00Z\n",
            "sends/s.csv": "delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at\n"
            + "".join(f"D1,r{sid},{phone},twilio,{sid},2026-05-04T08:00:00Z\n" for sid, phone in phones.items()),
        },
    )
    for name, (arrival, lines) in callbacks.items():
        path = write(root, f"reports/twilio_callbacks/{name}", "\n".join(lines) + "\n")
        os.utime(path, (arrival.timestamp(), arrival.timestamp()))


def config_file(monkeypatch: pytest.MonkeyPatch, path: Path, option: str, content: str | dict[str, Any]) -> Path:
    """``content`` (YAML text, or a document to write as YAML) in ``path``, set as the file of setting ``option``
    (sources, quality_config, ...)."""
    import yaml

    write(path.parent, path.name, content if isinstance(content, str) else yaml.safe_dump(content))
    monkeypatch.setenv(f"AIRFLOW__SMS_TRACKING__{option.upper()}", str(path))
    return path


def prepare(
    monkeypatch: pytest.MonkeyPatch, folder: Path, files: Mapping[str, str] | None = None, sources: str | None = None
) -> Path:
    """``folder/landing`` with these files, set as the pipeline's landing; ``sources`` becomes its sources file."""
    root = folder / "landing"
    root.mkdir(parents=True, exist_ok=True)
    write_all(root, files or {})
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__LANDING", str(root))
    if sources is not None:
        config_file(monkeypatch, folder / "sources.yaml", "sources", sources)
    return root


def load_all(dsn: str, sources: Iterable[str] = SOURCES, run: RunInfo | None = None) -> list[dict[str, Any]]:
    """The ingest tasks: each source's pending objects listed, then loaded one by one."""
    from sms_tracking import pipeline

    return [
        pipeline.load(source, uri, run, dsn=dsn)
        for source in sources
        for uri in pipeline.pending_objects(source, dsn=dsn)
    ]


def build_all(dsn: str, run_id: str = "test", steps: Iterable[str] | None = None, dag_id: str | None = None) -> None:
    """The build tasks: every step (or those given) in order, under one run id."""
    from sms_tracking import pipeline

    for step in pipeline.BUILD_STEPS if steps is None else steps:
        pipeline.build_step(step, run_id=run_id, dsn=dsn, dag_id=dag_id)


def run_all(
    dsn: str,
    run_id: str = "test",
    sources: Iterable[str] = SOURCES,
    *,
    run: RunInfo | None = None,
    dag_id: str | None = None,
) -> list[dict[str, Any]]:
    """Load what is pending, then build: one ingest run and one build run; returns the loads' results."""
    results = load_all(dsn, sources, run)
    build_all(dsn, run_id, dag_id=dag_id)
    return results
