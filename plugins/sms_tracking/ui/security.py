"""Checks every request passes before any route runs: values PostgreSQL can store, and same-origin writes.

Both are app-level dependencies (``create_app``), so a route added later is covered without saying so.

*Same origin.* An unsafe request (POST, PUT, PATCH, DELETE) must prove it comes from the view itself:
``Sec-Fetch-Site: same-origin`` (set by the browser, a page cannot forge it), else an ``Origin`` equal to
this server's origin. Anything else, no proof included, is refused with 403. The JSON API's writes take
JSON, which a cross-site form cannot send; the pages' writes are HTML forms, which must also carry the
form token (:func:`csrf_token`, double-submitted in a cookie). The server's origin is the
request's scheme and ``Host`` (the scheme follows ``X-Forwarded-Proto`` only when the API server trusts
proxies: ``airflow api-server --proxy-headers``, which makes uvicorn rewrite it) or the origin of Airflow's
``[api] base_url`` (the public URL behind a proxy). ``X-Forwarded-Host`` and ``X-Forwarded-Proto`` are never
read here: a client can send them.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, status
from fastapi.responses import Response

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_COOKIE = "sms_tracking_csrf"
CSRF_FIELD = "csrf_token"
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def unstorable(value: str) -> bool:
    """Whether PostgreSQL cannot hold ``value`` as text: a NUL character, or one UTF-8 cannot encode."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def storable_request(request: Request) -> None:
    """422 for a path or query value PostgreSQL cannot store, before a route binds it to a query."""
    values = [("path", str(request.scope.get("path", ""))), *request.query_params.multi_items()]
    for name, value in values:
        if unstorable(name) or unstorable(value):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"Invalid {'path' if name == 'path' else 'parameter ' + repr(name.replace(chr(0), ''))}: "
                "it contains a NUL byte or a character that cannot be stored (remove it and retry)",
            )


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-cased and without the scheme's default port; None if none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{scheme}://{host}:{port}"


def base_url() -> str:
    """Airflow's ``[api] base_url`` (the public URL, set when Airflow runs behind a proxy or on a sub-path)."""
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="") or ""


def server_origins(request: Request) -> set[str]:
    """The origins a same-origin request of this server may carry (see the module docstring)."""
    found = {origin_of(base_url())}
    host = request.headers.get("host")
    if host:
        found.add(origin_of(f"{request.url.scheme}://{host}"))
    return {origin for origin in found if origin}


async def same_origin_writes(request: Request) -> None:
    """403 for an unsafe request that does not prove it is same-origin, or a form post without its token."""
    if request.method not in UNSAFE_METHODS:
        return
    fetch_site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if fetch_site is not None:
        proven = fetch_site == "same-origin"
    else:
        proven = origin is not None and origin_of(origin) in server_origins(request)
    if not proven:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "Cross-site or unproven request refused: a change must come from the SMS Tracking view "
            "(an Origin header equal to the Airflow server's, or Sec-Fetch-Site: same-origin)",
        )
    from sms_tracking.ui.templating import inner_path

    if not inner_path(request).startswith("/api/"):  # the pages' routes only take their forms
        is_form = request.headers.get("content-type", "").split(";")[0].strip().lower() in _FORMS
        sent = (await request.form()).get(CSRF_FIELD) if is_form else None
        expected = request.cookies.get(CSRF_COOKIE)
        if not (isinstance(sent, str) and expected and secrets.compare_digest(sent, expected)):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "The form's security token is missing or stale: reload the page and submit the form again",
            )


def csrf_token(request: Request) -> str:
    """The form token of this browser: the value of its token cookie, or a new one :func:`keep_csrf_cookie` sets."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_token", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf_token = token
    return token


def keep_csrf_cookie(request: Request, response: Response) -> None:
    """Set the token cookie a page's forms were given, when the browser did not have one yet.

    Double-submit: a cross-site page can neither read the cookie nor set it (SameSite=Strict, HttpOnly,
    scoped to the app's path), so it cannot put the matching value in a forged form.
    """
    token = getattr(request.state, "new_csrf_token", None)
    if token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            path=(request.scope.get("root_path") or "") + "/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
