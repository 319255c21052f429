"""Infobip's SMS API through an HTTP connection.

The connection: host the account's base URL (``https://<id>.api.infobip.com``), password the API key,
sent as ``Authorization: App <key>``. A connection with a login uses HTTP basic auth instead, which
Infobip also accepts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sms_tracking.hooks import ReportApiHook

if TYPE_CHECKING:
    from requests import Session


class InfobipHook(ReportApiHook):
    """Reads Infobip's delivery reports."""

    conn_name_attr = "infobip_conn_id"
    default_conn_name = "infobip_default"
    conn_type = "http"
    hook_name = "Infobip SMS API (sms-tracking)"
    provider = "Infobip"
    credential_hint = "host = your Infobip base URL, password = API key (sent as Authorization: App <key>)"

    def __init__(self, infobip_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=infobip_conn_id, **kwargs)
        self.infobip_conn_id = infobip_conn_id

    def get_conn(self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None) -> Session:
        connection = self.get_connection(self.infobip_conn_id)
        if not connection.host:
            raise ValueError(f"connection {self.infobip_conn_id!r} has no host: put your Infobip base URL there")
        merged = {"Accept": "application/json", **(headers or {})}
        if not connection.login:
            if not connection.password:
                raise ValueError(f"connection {self.infobip_conn_id!r} has no password: put the Infobip API key there")
            merged["Authorization"] = f"App {connection.password}"
        return super().get_conn(merged, extra_options)
