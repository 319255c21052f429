"""Provider information: what Airflow's ``apache_airflow_provider`` entry point reads from this package."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    """The provider's declaration (as ``providers/postgres`` has it): Airflow lists it in ``airflow providers``,
    and its ``config`` section in ``airflow config list``."""
    from importlib.metadata import PackageNotFoundError, version

    from sms_tracking.settings import provider_config

    try:
        installed = version("sms-tracking")
    except PackageNotFoundError:  # a checkout on PYTHONPATH
        installed = "0.0.0"
    return {
        "package-name": "sms-tracking",
        "name": "SMS Tracking",
        "description": "SMS delivery reports, Adobe Campaign's qualification and quarantine, KPIs and a UI view.",
        "versions": [installed],
        "hooks": [{"integration-name": "SMS Tracking", "python-modules": ["sms_tracking.hooks.postgres"]}],
        "connection-types": [
            {
                "hook-class-name": "sms_tracking.hooks.postgres.SmsTrackingHook",
                "connection-type": "sms_tracking_postgres",
                "hook-name": "SMS Tracking database (Postgres)",
                "ui-field-behaviour": {"relabeling": {"schema": "Database"}},
            }
        ],
        "config": provider_config(),
    }
