"""Request checks of the plugin app (``sms_tracking.ui.security``): bad input answers 422, errors carry the
security headers, writes prove they are same-origin, forwarded headers are not trusted, masked viewers
cannot sort by number."""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest

from sms_tracking.ui.masking import mask_text
from sms_tracking.ui.security import origin_of

pytestmark = pytest.mark.integration

RELEASE = "/api/quarantine/%2B33612345679/release"
FORM_RELEASE = "/quarantine/%2B33612345679/release"


@pytest.fixture
def extras_ro(extras_template: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SMS_TRACKING_DSN", extras_template)
    return extras_template


def bare_client(plugin_app: Any, client_for: Any, role: str | None, **headers: str) -> Any:
    """A client of ``role`` that sends only ``headers`` (no ``Origin`` unless given)."""
    from fastapi.testclient import TestClient

    client_for(role)  # installs the user override
    return TestClient(plugin_app, headers={**({"x-test-role": role} if role else {}), **headers})


def status_of(dsn: str, phone: str) -> str:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT status FROM sms_tracking.quarantine WHERE phone_e164 = %s", (phone,)).fetchone()[0]  # type: ignore[index]


def assert_security_headers(response: Any) -> None:
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers["cache-control"] == "no-store"


# --- Values PostgreSQL cannot store --------------------------------------------------------------------------

BAD_INPUT = [
    "/api/deliveries/D1%00",
    "/api/deliveries/D1%00/log",
    "/deliveries/D1%00",
    "/deliveries/D1%00/tracking",
    "/api/deliveries?q=%00",
    "/api/deliveries?q%00=1",
    "/?provider=a%00b",
    "/api/deliveries/D1/log?failure_reason=Hard%00",
    "/deliveries/D1/log?failure_reason=%00",
    "/api/deliveries/D1/exclusions?reason=%00",
    "/api/qualification?provider=%00",
    "/qualification?provider=%00",
    "/api/quarantine/%2B3361%00",
    "/quarantine?phone=%2B33%00",
    "/static/css/sms-tracking%00.css",
    "/data-docs/index%00.html",
    "/api/deliveries?date_to=9999-12-31",
]


@pytest.mark.parametrize("path", BAD_INPUT)
def test_values_postgres_cannot_store_are_422_with_a_message(extras_ro: str, client_for: Any, path: str) -> None:
    response = client_for("admin").get(path)
    assert response.status_code == 422, response.text[:300]
    assert_security_headers(response)
    text = response.text
    assert "NUL byte" in text or "past the last date" in text, text[:300]
    assert "Traceback" not in text
    if path.startswith("/api/"):
        assert isinstance(response.json()["detail"], str)
    else:
        assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("body", [{"note": "carrier\x00outage"}])
def test_a_nul_byte_in_a_write_body_is_422_and_changes_nothing(
    extras_dsn: str, client_for: Any, body: dict[str, str]
) -> None:
    response = client_for("admin").post(RELEASE, json=body)
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["detail"]
    assert_security_headers(response)
    assert status_of(extras_dsn, "+33612345679") == "Quarantine"


@pytest.mark.parametrize(("path", "json_body"), [("/api/deliveries", True), ("/", False)])
def test_unexpected_errors_are_500_with_headers_and_no_traceback(
    extras_ro: str, client_for: Any, monkeypatch: pytest.MonkeyPatch, path: str, json_body: bool
) -> None:
    from sms_tracking.ui import queries

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(queries, "deliveries", broken)
    response = client_for("viewer").get(path)
    assert response.status_code == 500
    assert_security_headers(response)
    assert "secret internals" not in response.text and "Traceback" not in response.text
    if json_body:
        assert response.json() == {"detail": "Unexpected error: see the API server log."}


@pytest.mark.parametrize("path", ["/nope", "/api/nope", "/api/deliveries?limit=0", "/api/deliveries/NOPE"])
def test_error_answers_carry_the_security_headers(extras_ro: str, client_for: Any, path: str) -> None:
    response = client_for("viewer").get(path)
    assert response.status_code in (404, 422)
    assert_security_headers(response)


# --- Same-origin writes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "null"},
        {"Origin": "https://evil.example"},
        {"Origin": "https://evil.example", "X-Forwarded-Host": "evil.example"},
        {"Origin": "https://testserver", "X-Forwarded-Proto": "https"},
        {"Origin": "http://testserver.evil.example"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
        {"Sec-Fetch-Site": "same-site"},
        {"Referer": "http://testserver/quarantine"},
    ],
)
def test_writes_that_do_not_prove_they_are_same_origin_are_403(
    extras_dsn: str, plugin_app: Any, client_for: Any, headers: dict[str, str]
) -> None:
    client = bare_client(plugin_app, client_for, "admin", **headers)
    response = client.post(RELEASE, json={"note": "x"})
    assert response.status_code == 403, response.text
    assert "same-origin" in response.json()["detail"]
    assert_security_headers(response)
    assert status_of(extras_dsn, "+33612345679") == "Quarantine"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://testserver"},
        {"Origin": "HTTP://TestServer:80"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
    ],
)
def test_same_origin_writes_pass(extras_dsn: str, plugin_app: Any, client_for: Any, headers: dict[str, str]) -> None:
    response = bare_client(plugin_app, client_for, "admin", **headers).post(RELEASE, json={})
    assert response.status_code == 200, response.text
    assert status_of(extras_dsn, "+33612345679") == "Valid"


def test_the_public_origin_of_airflows_base_url_is_same_origin(
    extras_dsn: str, plugin_app: Any, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a proxy Airflow knows its public URL from ``[api] base_url``; the client's X-Forwarded-* is ignored."""
    client = bare_client(plugin_app, client_for, "admin", Origin="https://airflow.example.com")
    assert client.post(RELEASE, json={}).status_code == 403
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/airflow")
    assert client.post(RELEASE, json={}).status_code == 200
    evil = bare_client(
        plugin_app,
        client_for,
        "admin",
        Origin="https://evil.example",
        **{"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
    )
    assert evil.post("/api/quarantine/%2B15550199/allowlist", json={}).status_code == 403


def test_anonymous_writes_without_proof_are_refused(plugin_app: Any, client_for: Any) -> None:
    assert bare_client(plugin_app, client_for, None).post(RELEASE).status_code == 403


def test_form_posts_need_the_pages_token(extras_dsn: str, client_for: Any) -> None:
    client = client_for("admin")
    page = client.get(FORM_RELEASE)  # its confirmation page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token and "httponly" in page.headers["set-cookie"].lower()
    assert "samesite=strict" in page.headers["set-cookie"].lower()
    for data in ({"note": "x"}, {"note": "x", "csrf_token": "forged"}):
        refused = client.post(FORM_RELEASE, data=data, follow_redirects=False)
        assert refused.status_code == 403 and "security token" in refused.text, refused.text[:300]
    assert status_of(extras_dsn, "+33612345679") == "Quarantine"
    done = client.post(FORM_RELEASE, data={"note": "x", "csrf_token": token[1]}, follow_redirects=False)
    assert done.status_code == 303
    assert status_of(extras_dsn, "+33612345679") == "Valid"
    # The token stays the same for the browser's session: the next page reuses its cookie.
    again = client.get("/quarantine/%2B15550199/allowlist")
    assert "set-cookie" not in again.headers and token[1] in again.text


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://Host:80/x", "http://host"),
        ("https://host:443", "https://host"),
        ("https://host:8443/a", "https://host:8443"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("null", None),
        ("", None),
        ("http://host:99999", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


# --- Masked viewers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/deliveries/D1/log?sort=phone",
        "/api/quarantine?sort=phone&dir=asc",
        "/deliveries/D1/log?sort=phone",
        "/quarantine?sort=phone",
    ],
)
def test_masked_viewers_cannot_sort_by_number(extras_ro: str, client_for: Any, path: str) -> None:
    refused = client_for("viewer").get(path)
    assert refused.status_code == 422
    assert "numbers are masked" in refused.text
    assert client_for("admin").get(path).status_code == 200


def test_pages_offer_masked_viewers_no_sort_by_number(extras_ro: str, client_for: Any) -> None:
    for page in ("/deliveries/D1/log", "/quarantine"):
        assert "sort=phone" not in client_for("viewer").get(page).text
        assert "sort=phone" in client_for("admin").get(page).text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("id:A1 submit date:2605041000 done date:2605041012 stat:DELIVRD", None),
        ("RawDlrDoneDate=2605040901&MessageSid=SM0123456789abcdef0123456789abcdef", None),
        ("sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", None),
        ("validated 2026-05-04T10:00:00Z, 20260504101200, 1234567 rows", None),
        ("to +33612345678 and %2B15550199", "to +336••••••78 and %2B1•••••99"),
        ("national 06 22 22 22 22 or 0612345678", "national 06 2••••••••22 or 0612••••78"),
        ("0033612345678 / 33612345678", "0033•••••••78 / 3361•••••78"),
    ],
)
def test_masking_touches_phone_numbers_only(text: str, masked: str | None) -> None:
    assert mask_text(text) == (masked or text)
