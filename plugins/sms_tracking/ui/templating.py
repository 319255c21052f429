"""Jinja2 rendering with autoescaping, relative links and the formatting helpers the templates share.

Links are relative to the current page (``root`` climbs back to the app), so the pages work under
any ``[api] base_url`` sub-path and under the plugin's mount point without knowing either.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from sms_tracking import resources
from sms_tracking.qualification import DELIVERY_STATUS_LABELS, status_label
from sms_tracking.ui import security
from sms_tracking.ui.auth import Viewer


def inner_path(request: Request) -> str:
    """The request path below the app's mount point (``/deliveries/D1`` for ``<base>/sms-tracking/deliveries/D1``)."""
    path: str = request.scope.get("path", "/")
    root_path: str = request.scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    return path or "/"


def root_of(request: Request) -> str:
    """The relative prefix from the current page back to the app root: ``./``, ``../``, ``../../`` ..."""
    depth = inner_path(request).count("/") - 1
    return "../" * depth if depth > 0 else "./"


def query_with(request: Request, **changes: Any) -> str:
    """The current query string with some parameters changed (``None`` removes one); starts with ``?``."""
    current = {k: v for k, v in request.query_params.items() if k not in changes}
    current.update({k: v for k, v in changes.items() if v is not None and v != ""})
    pairs = [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in current.items() if v != ""]
    return "?" + urlencode(pairs) if pairs else "?"


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, Decimal | float) and not float(value).is_integer():
        return f"{float(value):,.2f}"
    return f"{int(value):,}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _when(value: datetime | None) -> str:
    if value is None:
        return "–"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat()


def _segment(value: Any) -> str:
    """One URL path segment: everything but unreserved characters is percent-encoded."""
    return quote(str(value), safe="")


def _build_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(resources.ui_dir() / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=_number, pct=_percent, when=_when, iso=_iso, seg=_segment, status_label=status_label)
    env.globals["delivery_statuses"] = list(DELIVERY_STATUS_LABELS.items())  # (code, Adobe's label)
    return env


ENV = _build_env()


def render(
    request: Request, template: str, viewer: Viewer | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page with the shared context (links, the viewer, the query-string helper)."""
    root = root_of(request)
    html = ENV.get_template(template).render(
        request=request,
        root=root,
        airflow=root + "../",
        viewer=viewer,
        qs=lambda **changes: query_with(request, **changes),
        params=request.query_params,
        csrf_token=security.csrf_token(request),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    security.keep_csrf_cookie(request, response)
    return response
