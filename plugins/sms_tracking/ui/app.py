"""The app factory of the SMS Tracking UI, mounted by the plugin at ``/sms-tracking``.

Every route but ``/health`` requires an authenticated Airflow user (router-level dependencies in
``routes``); every route first passes the request checks of ``security`` (storable values, same-origin
writes). This module adds the security headers to every response, errors included, and renders errors
as HTML for pages and as JSON under ``/api``.
"""

from __future__ import annotations

import logging

import psycopg
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sms_tracking.ui import security
from sms_tracking.ui.queries import Conflict, Invalid, NotFound
from sms_tracking.ui.templating import inner_path, render

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
)


class SecurityHeaders:
    """Adds the headers above to every response that has not set its own (Data Docs, static files).

    It also answers an unexpected error itself (500, with these headers and no traceback), so the error
    never reaches the server, which would drop the client's keep-alive connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if started:
                raise
            log.exception("SMS Tracking UI: unexpected error on %s", scope.get("path"))
            response = _error(Request(scope), 500, "Unexpected error: see the API server log.")
            await response(scope, receive, send_with_headers)


def _wants_json(request: Request) -> bool:
    return inner_path(request).startswith("/api/")


def _error(request: Request, status_code: int, detail: object, headers: dict[str, str] | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)
    if status_code == 401:
        detail = "You are not logged in to Airflow (or your session expired): log in again, then reload this page."
    response = render(request, "error.html", None, status_code=status_code, status=status_code, detail=detail)
    if headers:
        response.headers.update(headers)
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return _error(request, exc.status_code, exc.detail, getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _wants_json(request):
        return JSONResponse({"detail": exc.errors()}, status_code=422)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in error.get('loc', ())[1:]) or 'request'}: {error.get('msg')}"
        for error in exc.errors()
    )
    return _error(request, 422, f"Invalid parameter: {problems}")


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(request, 404, str(exc))


async def _conflict(request: Request, exc: Exception) -> Response:
    return _error(request, 409, str(exc))


async def _invalid(request: Request, exc: Exception) -> Response:
    return _error(request, 422, str(exc))


async def _unstorable(request: Request, exc: Exception) -> Response:
    """psycopg refused to send a value before the query ran (no SQLSTATE): it came from the request."""
    assert isinstance(exc, psycopg.DataError)
    if exc.sqlstate is not None:
        raise exc
    return _error(request, 422, f"Invalid value in the request: {exc} (remove it and retry)")


async def _database_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, psycopg.errors.QueryCanceled):
        detail = "The tracking database did not answer in time (statement timeout): narrow the filters."
    else:
        detail = "The tracking database is not reachable; see the API server log."
    log.error("SMS Tracking UI: database error on %s: %s", inner_path(request), exc)
    return _error(request, 503, detail)


async def _not_configured(request: Request, exc: Exception) -> Response:
    from sms_tracking.settings import declared_default

    log.error("SMS Tracking UI: %s", exc)
    return _error(
        request,
        503,
        "The tracking database is not configured: set the Airflow connection named by [sms_tracking] conn_id "
        f"(default {declared_default('conn_id')}) for the API server.",
    )


def create_app() -> FastAPI:
    """Build the app; no database work happens here, only per request."""
    from airflow.exceptions import AirflowNotFoundException

    from sms_tracking.ui.routes import api, exports, files, health, pages

    app = FastAPI(
        title="SMS Tracking",
        description="Delivery reports of SMS providers, qualified like Adobe Campaign's SMS delivery dashboard. "
        "Every route needs an Airflow user (bearer token or the UI's cookie); see docs/ui.md.",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(security.storable_request), Depends(security.same_origin_writes)],
    )
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(Invalid, _invalid)
    app.add_exception_handler(psycopg.DataError, _unstorable)
    app.add_exception_handler(psycopg.OperationalError, _database_error)
    app.add_exception_handler(AirflowNotFoundException, _not_configured)
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(exports.router)
    app.include_router(files.router)
    app.include_router(pages.router)
    return app
