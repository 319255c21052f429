"""What the UI knows of the pipeline; its settings are options of ``[sms_tracking]`` (sms_tracking.settings)."""

from __future__ import annotations

BUILD_DAG_ID = "sms_tracking_build"
"""The DAG whose runs refresh ``delivery_summary`` (``refreshed_by_run`` holds its run id)."""
