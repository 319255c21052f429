"""The Airflow plugin entry: declarations only.

The FastAPI app is built on first access to ``fastapi_apps``, which only the API server (and the
``airflow plugins`` command) reads; schedulers, DAG processors and workers load this file without
importing FastAPI, Jinja2 or the UI code, and nothing here touches a database.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/sms-tracking"
URL_ROUTE = "sms-tracking"

EXTERNAL_VIEWS: list[dict[str, Any]] = [
    {
        "name": "SMS Tracking",
        # Relative: resolved against the UI's <base href>, so it follows [api] base_url.
        "href": "sms-tracking/",
        "url_route": URL_ROUTE,
        "destination": "nav",
        "category": "browse",
        "icon": "sms-tracking/static/img/sms-tracking.svg",
        "icon_dark_mode": "sms-tracking/static/img/sms-tracking-dark.svg",
    },
]


@cache
def _fastapi_apps() -> list[dict[str, Any]]:
    from sms_tracking.ui.app import create_app

    return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "SMS Tracking"}]


class SmsTrackingPlugin(AirflowPlugin):
    """SMS delivery tracking pages in the Airflow UI (Browse → SMS Tracking)."""

    name = "sms_tracking"
    external_views = EXTERNAL_VIEWS

    @property  # type: ignore[override]
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return _fastapi_apps()
