"""The one way to the tracking database: an Airflow connection, read through :class:`SmsTrackingHook`.

The connection id is the ``conn_id`` option of ``[sms_tracking]`` (its declared default by default),
so the connection may come from wherever Airflow finds connections: ``AIRFLOW_CONN_<ID>`` (an ordinary
``postgresql://`` URI), the metadata database, or a secrets backend. Every task, the UI and the demo go
through :func:`sms_tracking.db.connect`, which uses this hook; a bare DSN there is a shortcut for the
demo and the tests only.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.postgres.hooks.postgres import PostgresHook

from sms_tracking.settings import declared_default


class SmsTrackingHook(PostgresHook):
    """A :class:`PostgresHook` on the tracking database's connection.

    Its own connection type keeps the postgres provider's registration intact (one type, one provider);
    the hook reads any Postgres connection, whatever its type, so a ``postgresql://`` URI works as is.
    """

    conn_name_attr = "sms_tracking_conn_id"
    default_conn_name = str(declared_default("conn_id"))
    conn_type = "sms_tracking_postgres"
    hook_name = "SMS Tracking database (Postgres)"

    def __init__(self, sms_tracking_conn_id: str | None = None, **kwargs: Any) -> None:
        if sms_tracking_conn_id is None:
            from sms_tracking.settings import get_settings

            sms_tracking_conn_id = get_settings().conn_id
        super().__init__(**{self.conn_name_attr: sms_tracking_conn_id}, **kwargs)

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {"relabeling": {"schema": "Database"}}
