"""Hooks for the provider APIs that delivery reports are pulled from (docs/pull.md).

Each hook is an :class:`~airflow.providers.http.hooks.http.HttpHook` on an ordinary HTTP connection,
so the connection is created with the HTTP form (or ``AIRFLOW_CONN_<ID>``) and needs no provider
package. They share :class:`ReportApiHook`: one session per pull, GET only, and the response handed
back whatever its status, because the pull's retry policy, not the hook, decides what a 429 or a 5xx means.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.http.hooks.http import HttpHook

if TYPE_CHECKING:
    from requests import Response, Session


class ReportApiHook(HttpHook):
    """A provider API read page by page with GET; subclasses say how it authenticates."""

    provider: ClassVar[str] = "the provider"
    """The provider's name, as error messages show it."""
    credential_hint: ClassVar[str] = ""
    """Where the connection keeps the credential, for the message of a rejected one."""

    def __init__(self, conn_id: str, **kwargs: Any) -> None:
        super().__init__(method="GET", http_conn_id=conn_id, **kwargs)
        self._session: Session | None = None

    @property
    def conn_id(self) -> str:
        return self.http_conn_id

    def fetch(self, endpoint: str, params: Mapping[str, str] | None, timeout: float) -> Response:
        """GET ``endpoint`` (a path, with or without a query) relative to the connection's host."""
        if self._session is None:
            self._session = self.get_conn(extra_options={"check_response": False})
        url = self.base_url.rstrip("/") + "/" + endpoint.lstrip("/")
        from requests import Request

        prepared = self._session.prepare_request(Request("GET", url, params=dict(params or {})))
        options = {**self.merged_extra, "timeout": timeout, "check_response": False}
        return self.run_and_check(self._session, prepared, options)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
