"""Settings of the SMS Tracking UI, read from the environment (documented in docs/ui.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BUILD_DAG_ID = "sms_tracking_build"
"""The DAG whose runs refresh ``delivery_summary`` (``refreshed_by_run`` holds its run id)."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={value!r}: expected one of true/false, yes/no, on/off, 1/0")


@dataclass(frozen=True)
class UiSettings:
    """What the UI reads from the environment; read per request so a test or a restart can change it."""

    mask_phones: bool
    manage_dag_id: str
    statement_timeout_ms: int

    @classmethod
    def from_env(cls) -> UiSettings:
        return cls(
            mask_phones=_flag("SMS_TRACKING_MASK_PHONES", True),
            manage_dag_id=os.environ.get("SMS_TRACKING_MANAGE_DAG_ID", BUILD_DAG_ID),
            statement_timeout_ms=int(os.environ.get("SMS_TRACKING_UI_STATEMENT_TIMEOUT_MS", "15000")),
        )

    @property
    def data_docs_dir(self) -> Path:
        """Where the validation DAG publishes Data Docs (``SMS_TRACKING_DATA_DOCS``; see docs/quality.md)."""
        from sms_tracking.quality import data_docs_dir

        return data_docs_dir()
