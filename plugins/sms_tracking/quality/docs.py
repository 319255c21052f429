"""Data Docs: where GX builds them and the UI serves them, and their swap into place."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

DOCS_SITE = "sms_tracking"


def data_docs_dir() -> Path:
    """Where Data Docs are built and the UI plugin serves them: the ``data_docs`` option, else
    ``<AIRFLOW_HOME>/sms_tracking_data_docs`` (a shared volume in multi-node deployments)."""
    from sms_tracking.settings import get_settings

    return get_settings().data_docs_dir


def publish_data_docs(context: Any, building: Path, target: Path) -> None:
    """Build the site beside ``target``, then swap it in, so the UI never serves a half-built site."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(building, ignore_errors=True)
    context.build_data_docs(site_names=[DOCS_SITE])
    previous = target.parent / f".{target.name}.previous-{os.getpid()}"
    if target.exists():
        target.rename(previous)
    building.rename(target)
    shutil.rmtree(previous, ignore_errors=True)
