"""Twilio's REST API (2010-04-01) through an HTTP connection.

The connection: host ``https://api.twilio.com`` (the default when empty), login the Account SID and
password the Auth Token, sent as HTTP basic auth. With an API key, login is the key's SID (``SK...``),
password its secret, and the source sets the option ``account_sid``.
"""

from __future__ import annotations

from typing import Any

from sms_tracking.hooks import ReportApiHook

API_VERSION = "2010-04-01"


class TwilioHook(ReportApiHook):
    """Reads Twilio's Messages list."""

    conn_name_attr = "twilio_conn_id"
    default_conn_name = "twilio_default"
    conn_type = "http"
    hook_name = "Twilio Messages API (sms-tracking)"
    default_host = "https://api.twilio.com"
    provider = "Twilio"
    credential_hint = "login = Account SID (or API key SID), password = Auth Token (or API key secret)"

    def __init__(self, twilio_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=twilio_conn_id, **kwargs)
        self.twilio_conn_id = twilio_conn_id

    def account_sid(self, override: str | None = None) -> str:
        """The account whose messages are listed: ``override`` (an API-key setup), else the login."""
        sid = override or self.get_connection(self.twilio_conn_id).login
        if not sid:
            raise ValueError(
                f"connection {self.twilio_conn_id!r} has no login: put the Twilio Account SID there "
                "(or set the source option account_sid when the login is an API key SID)"
            )
        return sid

    @staticmethod
    def messages_endpoint(account_sid: str) -> str:
        return f"/{API_VERSION}/Accounts/{account_sid}/Messages.json"
