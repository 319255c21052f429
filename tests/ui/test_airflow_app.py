"""The plugin inside Airflow's own API app (``airflow.api_fastapi.app.create_app``), with real auth.

Nothing is faked here: the SimpleAuthManager mints and checks the JWTs, the plugin is loaded from the
plugins folder through ``plugins/.airflowignore``, and the tracking database is reached through the
Airflow connection ``sms_tracking_postgres`` (``AIRFLOW_CONN_*``), as in the API server.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from tests.project import PROJECT

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

PREFIX = "/sms-tracking"
SAMPLES = {
    "delivery_id": "D1",
    "phone": "+33612345681",
    "provider": "smpp",
    "raw_status": "UNDELIV",
    "error_code": "77",
}
"""Path values for the route sweep. Its two writes on +33612345681 succeed in either order: the API
releases it (With errors or Allowlisted -> Valid), the form allowlists it (-> Allowlisted)."""
NOT_FOUND_WITHOUT_FILES = {"/data-docs/{path:path}"}
QUALIFY = {"state": "keep", "outcome": "failed", "failure_type": "Hard", "failure_reason": "User unknown"}


def _clear_plugin_caches() -> None:
    from airflow import plugins_manager
    from airflow.api_fastapi.app import purge_cached_app

    for name in (
        "_get_plugins",
        "_get_ui_plugins",
        "get_flask_plugins",
        "get_fastapi_plugins",
        "_get_extra_operators_links_plugins",
    ):
        getattr(plugins_manager, name).cache_clear()
    purge_cached_app()


@pytest.fixture(scope="module")
def airflow(airflow_db: Path, copy_of_extras: Any) -> Iterator[dict[str, Any]]:
    """Airflow's API app with the plugin installed (built once: it takes seconds), and tokens per role."""
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    dsn = copy_of_extras()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
        env.delenv("SMS_TRACKING_DSN", raising=False)
        env.setenv("AIRFLOW_CONN_SMS_TRACKING_POSTGRES", dsn)
        env.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,viewer:viewer")
        env.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "sms-tracking-route-tests-" + "x" * 40)
        _clear_plugin_caches()
        app = create_app()
        manager = get_auth_manager()
        tokens = {
            role: manager.generate_jwt(SimpleAuthManagerUser(username=role, role=role)) for role in ("admin", "viewer")
        }
        # Every request carries the view's Origin, as the browser's would (writes must prove they are same-origin).
        yield {"client": TestClient(app, headers={"Origin": "http://testserver"}), "tokens": tokens, "dsn": dsn}
        _clear_plugin_caches()


def plugin_routes() -> list[tuple[str, str]]:
    """(method, path) of every route of the plugin app, path parameters filled with sample values."""
    from sms_tracking.ui.app import create_app

    found = []
    for route in create_app().routes:
        if not isinstance(route, APIRoute):
            continue
        path = route.path
        for name, value in SAMPLES.items():
            path = path.replace("{" + name + "}", value).replace("{" + name + ":path}", value)
        path = path.replace("{action}", "release" if path.startswith("/api/") else "allowlist")
        if "{path:path}" in path:
            path = path.replace("{path:path}", "index.html" if "data-docs" in path else "css/sms-tracking.css")
        for method in sorted(route.methods):
            found.append((method, route.path, PREFIX + path))
    return found  # type: ignore[return-value]


ROUTES = plugin_routes()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_plugins_endpoint_lists_the_view(airflow: dict[str, Any]) -> None:
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse

    response = airflow["client"].get("/api/v2/plugins", headers=auth(airflow["tokens"]["viewer"]))
    assert response.status_code == 200
    (plugin,) = [p for p in response.json()["plugins"] if p["name"] == "sms_tracking"]
    (view,) = plugin["external_views"]
    assert ExternalViewResponse.model_validate(view)
    assert (view["href"], view["url_route"], view["destination"], view["category"]) == (
        "sms-tracking/",
        "sms-tracking",
        "nav",
        "browse",
    )
    assert plugin["fastapi_apps"][0]["url_prefix"] == PREFIX
    errors = airflow["client"].get("/api/v2/plugins/importErrors", headers=auth(airflow["tokens"]["admin"]))
    assert errors.json()["total_entries"] == 0, errors.json()


def test_every_external_view_dict_is_valid_for_this_airflow() -> None:
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse

    sys.path.insert(0, str(PROJECT / "plugins" / "sms_tracking"))
    try:
        import sms_tracking_plugin
    finally:
        sys.path.pop(0)
    for view in sms_tracking_plugin.SmsTrackingPlugin.external_views:
        validated = ExternalViewResponse.model_validate(view)
        assert validated.model_dump(exclude_unset=True) == view
        assert not validated.href.startswith("/"), "a relative href follows [api] base_url"


@pytest.mark.parametrize(("method", "template", "path"), ROUTES, ids=[f"{m} {t}" for m, t, _ in ROUTES])
def test_route_needs_an_authenticated_user(airflow: dict[str, Any], method: str, template: str, path: str) -> None:
    client, admin = airflow["client"], auth(airflow["tokens"]["admin"])
    form: dict[str, str] | None = None
    body: dict[str, int] | None = None
    if method == "POST" and "/api/" not in path:  # a page's form, as its confirmation page fills it
        page = client.get(path, headers=admin).text
        form = dict(re.findall(r'name="(csrf_token|expected)" value="([^"]+)"', page))
        if "/qualification/" in path:  # a qualification edit: the values chosen in its form
            form.update(QUALIFY)
    elif method == "POST" and "/bulk/" in path:  # a bulk action confirms the count its preview gave
        body = {"expected": client.get(path, headers=admin).json()["count"]}
    anonymous = client.request(method, path, data=form, json=body)
    if template == "/health":
        assert anonymous.status_code == 200
        return
    assert anonymous.status_code == 401, anonymous.text[:300]
    response = client.request(method, path, headers=admin, data=form, json=body)
    if template in NOT_FOUND_WITHOUT_FILES:
        assert response.status_code == 404
    else:
        # A write may find its number already changed by another write of the sweep (409): it was reached.
        assert response.status_code in ((200, 303, 409) if method == "POST" else (200,)), response.text[:500]
        assert "frame-ancestors 'self'" in response.headers["content-security-policy"]


def test_the_ui_cookie_authenticates_like_the_iframe_does(airflow: dict[str, Any]) -> None:
    client = airflow["client"]
    client.cookies.set("_token", airflow["tokens"]["viewer"])
    try:
        response = client.get(f"{PREFIX}/deliveries/D1")
        assert response.status_code == 200
        assert 'data-kpi="sent" data-value="4"' in response.text
    finally:
        client.cookies.clear()


def test_a_forged_token_is_refused(airflow: dict[str, Any]) -> None:
    response = airflow["client"].get(f"{PREFIX}/api/deliveries", headers=auth("eyJhbGciOiJIUzUxMiJ9.e30.x"))
    assert response.status_code == 403


def test_viewers_read_masked_and_cannot_write(airflow: dict[str, Any]) -> None:
    client, token = airflow["client"], airflow["tokens"]["viewer"]
    me = client.get(f"{PREFIX}/api/me", headers=auth(token)).json()
    assert me == {"username": "viewer", "can_manage": False, "phones_masked": True}
    log = client.get(f"{PREFIX}/api/deliveries/D1/log", headers=auth(token)).json()["items"]
    assert all("•" in row["phone"] for row in log)
    assert client.post(f"{PREFIX}/api/quarantine/+33612345679/release", headers=auth(token)).status_code == 403


def test_an_admin_release_is_recorded_under_their_name(airflow: dict[str, Any]) -> None:
    import psycopg

    client, token = airflow["client"], airflow["tokens"]["admin"]
    response = client.post(
        f"{PREFIX}/api/quarantine/+33612345679/release", headers=auth(token), json={"note": "checked with the carrier"}
    )
    assert response.status_code == 200, response.text
    with psycopg.connect(airflow["dsn"]) as conn:
        last = conn.execute(
            "SELECT to_status, actor, reason FROM sms_tracking.quarantine_history "
            "WHERE phone_e164 = '+33612345679' ORDER BY at DESC, id DESC LIMIT 1"
        ).fetchone()
    assert last == ("Valid", "admin", "checked with the carrier")


def test_the_entry_file_imports_no_ui_code_and_touches_no_database() -> None:
    """Schedulers and workers load the plugin too: the app is only built when ``fastapi_apps`` is read."""
    code = (
        "import sys; sys.path[:0] = ['plugins', 'plugins/sms_tracking'];"
        "import sms_tracking_plugin as p;"
        "assert 'sms_tracking.ui.app' not in sys.modules and 'fastapi' not in sys.modules, sorted(sys.modules);"
        "assert isinstance(p.SmsTrackingPlugin.__dict__['fastapi_apps'], property)"
    )
    env = {"PATH": "/usr/bin:/bin", "SMS_TRACKING_DSN": "postgresql://nobody@127.0.0.1:1/none"}
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_only_the_entry_file_is_scanned_as_a_plugin() -> None:
    from airflow._shared.module_loading import find_path_from_directory

    scanned = {
        Path(p).relative_to(PROJECT / "plugins").as_posix()
        for p in find_path_from_directory(str(PROJECT / "plugins"), ".airflowignore", "glob")
        if p.endswith(".py")
    }
    assert scanned == {"sms_tracking/sms_tracking_plugin.py"}


def test_a_qualification_edit_creates_the_requalify_run_in_airflow(airflow: dict[str, Any]) -> None:
    """The edit's route creates a queued run of the requalify DAG in Airflow's metadata database, under the
    user's name, scoped to the row; the row's page shows its state (the scheduler would run it)."""
    import psycopg
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(PROJECT / "dags" / "sms_tracking_requalify.py"))
    assert not bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)

    client, admin = airflow["client"], auth(airflow["tokens"]["admin"])
    row = f"{PREFIX}/qualification/twilio/*/30005"
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(row, headers=admin).text)
    assert token
    response = client.post(
        row, headers=admin, follow_redirects=False, data={**QUALIFY, "state": "ignore", "csrf_token": token[1]}
    )
    assert response.status_code == 303, response.text[:500]
    assert "started=qualification__" in response.headers["location"], response.headers["location"]
    with psycopg.connect(airflow["dsn"]) as conn:
        (run_id,) = conn.execute(
            "SELECT requalify_run_id FROM sms_tracking.qualification_change WHERE error_code = '30005'"
        ).fetchone()  # type: ignore[misc]
    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id="sms_tracking_requalify", run_id=run_id).one()
        assert (run.state, run.triggering_user_name) == ("queued", "admin")
        assert run.conf == {"provider": "twilio", "raw_status": None, "error_code": "30005", "apply_overrides": False}
    page = client.get(f"{row}?started={run_id}", headers=admin).text
    assert 'data-run-state="queued"' in page and "in progress" in page
