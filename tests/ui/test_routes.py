"""Route tests of the plugin app (FastAPI TestClient): auth, permissions, masking, filters, XSS, SQLi.

The user is faked by overriding Airflow's ``get_user`` dependency and authorised by a real
SimpleAuthManager (``client_for(role)`` in conftest); the data comes from the real pipeline.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg
import pytest
from tests.landing import config_file
from tests.servers import rows

pytestmark = pytest.mark.integration

PAGES = [
    "/",
    "/deliveries/D1",
    "/deliveries/D1/sms",
    "/deliveries/D1/log",
    "/deliveries/D1/exclusions",
    "/deliveries/D1/tracking",
    "/deliveries/D1/audit",
    "/quarantine",
    "/quarantine/+33612345679",
    "/qualification",
    "/qualification/smpp/UNDELIV/77",
    "/quality",
]
API = [
    "/api/me",
    "/api/deliveries",
    "/api/deliveries/choices",
    "/api/deliveries/D1",
    "/api/deliveries/D1/sms",
    "/api/deliveries/D1/log",
    "/api/deliveries/D1/exclusions",
    "/api/deliveries/D1/tracking",
    "/api/deliveries/D1/audit",
    "/api/quarantine",
    "/api/quarantine/+33612345679",
    "/api/qualification",
    "/api/quality",
    "/api/openapi.json",
]
FILES = ["/static/css/sms-tracking.css", "/static/js/app.js", "/static/vendor/chart.js/chart.umd.min.js"]
WRITES = [
    "/api/quarantine/+33612345679/release",
    "/api/quarantine/+33612345679/allowlist",
    "/quarantine/+33612345679/release",
    "/quarantine/+33612345679/allowlist",
    "/api/quarantine/bulk/release",
    "/quarantine/bulk/allowlist",
    "/qualification/smpp/UNDELIV/77",
]
X1_PAGES = [
    "/",
    "/deliveries/X1",
    "/deliveries/X1/sms",
    "/deliveries/X1/log",
    "/deliveries/X1/exclusions",
    "/deliveries/X1/tracking",
    "/deliveries/X1/audit",
    "/qualification",
    "/quarantine",
    "/quarantine/+15550199",
]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.IGNORECASE)
URL_ATTR = re.compile(r"\b(?:href|src|action)=\"([^\"]*)\"")


@pytest.fixture
def extras_ro(extras_template: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The database with every optional table filled, for tests that only read."""
    monkeypatch.setenv("SMS_TRACKING_DSN", extras_template)
    return extras_template


# --- Authentication and permissions -------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES + API + FILES)
def test_every_route_answers_an_authenticated_reader(extras_ro: str, client_for: Any, path: str) -> None:
    response = client_for("viewer").get(path)
    assert response.status_code == 200, response.text[:500]


@pytest.mark.parametrize("path", PAGES + API + FILES)
def test_anonymous_requests_get_401(client_for: Any, path: str) -> None:
    response = client_for(None).get(path)
    assert response.status_code == 401
    if path.startswith("/api/"):
        assert response.json() == {"detail": "Not authenticated"}
    elif not path.startswith("/static/"):
        assert "log in again" in response.text


@pytest.mark.parametrize("path", WRITES)
def test_anonymous_writes_get_401(client_for: Any, path: str) -> None:
    client = client_for(None)
    client.cookies.set("sms_tracking_csrf", "token")  # a same-origin form post, as an expired session sends it
    assert client.post(path, data={"csrf_token": "token"}).status_code == 401


def test_health_is_the_only_anonymous_route(client_for: Any) -> None:
    response = client_for(None).get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_bad_token_is_refused(client_for: Any) -> None:
    response = client_for(None).get("/api/deliveries", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code in (401, 403)


def test_without_plugins_view_access_every_route_is_403(extras_ro: str, client_for: Any) -> None:
    client = client_for("admin")
    with mock.patch(
        "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager.is_authorized_view",
        return_value=False,
    ):
        for path in PAGES + API + FILES:
            assert client.get(path).status_code == 403, path


def test_me_reports_permissions_per_role(extras_ro: str, client_for: Any) -> None:
    assert client_for("viewer").get("/api/me").json() == {
        "username": "viewer-user",
        "can_manage": False,
        "phones_masked": True,
    }
    assert client_for("user").get("/api/me").json() == {
        "username": "user-user",
        "can_manage": True,
        "phones_masked": False,
    }


def test_these_lists_cover_every_route_of_the_app(plugin_app: Any) -> None:
    """A new route must join the lists above, so the authentication tests cover it."""
    from fastapi.routing import APIRoute

    templates = {r.path for r in plugin_app.routes if isinstance(r, APIRoute)}
    tested = {re.sub(r"/D1\b", "/{delivery_id:path}", re.sub(r"/\+\d+", "/{phone}", p)) for p in PAGES + API + WRITES}
    tested = {re.sub(r"/(release|allowlist)$", "/{action}", p) for p in tested}
    tested = {p.replace("/smpp/UNDELIV/77", "/{provider}/{raw_status}/{error_code}") for p in tested}
    tested |= {"/health", "/static/{path:path}", "/data-docs/{path:path}"}
    tested |= {"/export/deliveries.csv", "/export/quarantine.csv", "/export/qualification.csv", "/export/quality.csv"}
    tested |= {f"/export/deliveries/{{delivery_id:path}}/{tab}.csv" for tab in ("log", "exclusions", "tracking")}
    assert templates == tested


# --- Masking ------------------------------------------------------------------------------------------------


def test_viewers_see_masked_numbers_everywhere(extras_ro: str, client_for: Any) -> None:
    client = client_for("viewer")
    log = client.get("/api/deliveries/D1/log").json()["items"]
    assert {r["phone"] for r in log} == {"+336••••••78", "+336••••••79", "+336••••••80", "+336••••••81"}
    quarantine = client.get("/api/quarantine").json()["items"]
    assert all("•" in q["phone"] for q in quarantine)
    exclusions = client.get("/api/deliveries/X1/exclusions").json()["recipients"]["items"]
    assert all(e["phone"] is None or "•" in e["phone"] for e in exclusions)
    assert {e["recipient_id"]: e["phone_raw"] for e in exclusions}["x8"] == "06 2••••••••22"
    journal = client.get("/api/deliveries/D1/audit").json()["journal"]["items"]
    assert not any("+33612345681" in (e["message"] or "") for e in journal)
    for page in ("/deliveries/D1/log", "/quarantine", "/deliveries/D1/audit"):
        assert not re.search(r"\+33612345\d{3}", client.get(page).text), page
    assert not re.search(r"\+33622222222|06 22 22 22 22", client.get("/deliveries/X1/exclusions").text)


def test_users_who_may_manage_see_numbers(extras_ro: str, client_for: Any) -> None:
    log = client_for("user").get("/api/deliveries/D1/log").json()["items"]
    assert "+33612345678" in {r["phone"] for r in log}


def test_masking_can_be_switched_off(extras_ro: str, client_for: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__MASK_PHONES", "false")
    log = client_for("viewer").get("/api/deliveries/D1/log").json()["items"]
    assert "+33612345678" in {r["phone"] for r in log}


def test_masked_viewers_can_only_search_exact_numbers(extras_ro: str, client_for: Any) -> None:
    viewer, admin = client_for("viewer"), client_for("admin")
    assert viewer.get("/api/deliveries/D1/log", params={"phone": "+336123456"}).json()["total_entries"] == 0
    assert viewer.get("/api/deliveries/D1/log", params={"phone": "+33612345679"}).json()["total_entries"] == 1
    assert admin.get("/api/deliveries/D1/log", params={"phone": "+336123456"}).json()["total_entries"] == 4
    assert viewer.get("/api/quarantine", params={"phone": "+3361"}).json()["total_entries"] == 0
    assert admin.get("/api/quarantine", params={"phone": "+3361"}).json()["total_entries"] == 2


def test_masked_viewers_get_no_links_that_carry_numbers(extras_ro: str, client_for: Any) -> None:
    assert "quarantine/%2B336" not in client_for("viewer").get("/quarantine").text
    assert "quarantine/%2B33612345679" in client_for("admin").get("/quarantine").text


# --- Deliveries list ----------------------------------------------------------------------------------------


def ids(response: Any) -> list[str]:
    return [d["delivery_id"] for d in response.json()["items"]]


def test_deliveries_list_kpis_come_from_the_summary(extras_ro: str, client_for: Any) -> None:
    items = {d["delivery_id"]: d for d in client_for("viewer").get("/api/deliveries").json()["items"]}
    d1 = items["D1"]
    assert (d1["to_deliver"], d1["success"], d1["errors"], d1["success_rate"]) == (4, 3, 1, 0.75)
    assert (d1["clicks"], d1["human_clicks"]) == (5, 3)
    assert d1["state"] == "in_progress" and items["D2"]["state"] == "finished"
    assert "P1" not in items  # proofs are kept apart unless asked for


def test_deliveries_list_to_deliver_is_the_population_minus_exclusions(extras_dsn: str, client_for: Any) -> None:
    """Adobe's @toDeliver, as the Summary tile (not @sent), and @processed = success + errors (issue 17 point 5)."""
    with psycopg.connect(extras_dsn) as conn:
        conn.execute(
            "UPDATE sms_tracking.delivery_summary SET initial_population = 9, excluded = 2, to_deliver = 7"
            " WHERE delivery_id = 'D1'"
        )
    items = client_for("viewer").get("/api/deliveries").json()["items"]
    d1 = next(d for d in items if d["delivery_id"] == "D1")
    html = client_for("viewer").get("/").text
    assert (d1["to_deliver"], d1["processed"], d1["sent"], d1["cancelled"]) == (7, 4, 4, 0)
    assert d1["processed"] == d1["success"] + d1["errors"]
    assert 'data-kpi="to_deliver">7<' in html and 'data-kpi="processed">4<' in html


def test_delivery_log_gives_the_code_and_adobes_label(extras_ro: str, client_for: Any) -> None:
    items = client_for("viewer").get("/api/deliveries/D1/log").json()["items"]
    labels = {
        "pending": "Sent",
        "delivered": "Received on mobile",
        "failed": "Failed",
        "cancelled": "Delivery cancelled",
    }
    assert items and all(r["status_label"] == labels[r["status"]] for r in items)
    html = client_for("viewer").get("/deliveries/D1/log").text
    assert ">Received on mobile</span>" in html and '<option value="cancelled"' in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "spring"}, ["D1"]),
        ({"q": "D2"}, ["D2"]),
        ({"provider": "twilio"}, ["D2"]),
        ({"sender": "SHOP"}, ["D1"]),
        ({"state": "in_progress"}, ["D1"]),
        ({"date_from": "2026-05-05"}, ["X1"]),
        ({"date_to": "2026-05-04"}, ["D2", "D1"]),
        ({"proofs": "true", "date_to": "2026-05-03"}, ["P1"]),
        ({"sort": "name", "dir": "asc"}, ["X1", "D1", "D2"]),
        ({"sort": "success_rate", "dir": "desc"}, ["D1", "D2", "X1"]),
        ({"sort": "created_at", "dir": "asc", "limit": "1", "offset": "1"}, ["D2"]),
    ],
)
def test_deliveries_filters_sort_and_pages(
    extras_ro: str, client_for: Any, params: dict[str, str], expected: list[str]
) -> None:
    response = client_for("viewer").get("/api/deliveries", params=params)
    assert response.status_code == 200, response.text
    assert ids(response) == expected


def test_pagination_reports_the_total(extras_ro: str, client_for: Any) -> None:
    page = client_for("viewer").get("/api/deliveries", params={"limit": 2}).json()
    assert (len(page["items"]), page["total_entries"], page["limit"], page["offset"]) == (2, 3, 2, 0)
    html = " ".join(client_for("viewer").get("/", params={"limit": 2}).text.split())
    assert "Rows 1–2 of 3" in html and 'rel="next"' in html


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"offset": "-1"},
        {"sort": "nope"},
        {"dir": "sideways"},
        {"state": "done"},
        {"date_from": "yesterday"},
        {"q": "x" * 201},
    ],
)
def test_invalid_parameters_are_422(extras_ro: str, client_for: Any, params: dict[str, str]) -> None:
    client = client_for("viewer")
    assert client.get("/api/deliveries", params=params).status_code == 422
    page = client.get("/", params=params)
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]


# --- Delivery tabs ------------------------------------------------------------------------------------------


def test_summary_tiles_equal_the_summary_table(extras_ro: str, client_for: Any) -> None:
    ((row,),) = rows(extras_ro, "SELECT to_jsonb(s) FROM sms_tracking.delivery_summary s WHERE delivery_id = 'D1'")
    html = client_for("viewer").get("/deliveries/D1").text
    shown = dict(re.findall(r'data-kpi="(\w+)" data-value="([^"]*)"', html))
    base = {"sent", "delivered", "failed", "pending", "success", "hard", "soft", "ignored", "segments"}
    assert base <= set(shown) <= set(row)
    assert {k: str(row[k]) for k in shown} == shown
    api = client_for("viewer").get("/api/deliveries/D1").json()
    assert {k: api["kpis"][k] for k in base} == {k: row[k] for k in base}
    assert api["kpis"]["indicators"]["sent"] == row["sent"] == 4
    assert api["kpis"]["refreshed_by_run"] == "ui-test-run"
    assert 'href="../../dags/sms_tracking_build/runs/ui-test-run"' in html


def test_summary_charts_carry_the_breakdowns(extras_ro: str, client_for: Any) -> None:
    api = client_for("viewer").get("/api/deliveries/D1").json()
    # Adobe's delivery-log labels (decision 11): pending is Sent, delivered is Received on mobile.
    assert {p["label"]: p["count"] for p in api["status_breakdown"]} == {
        "Received on mobile": 2,
        "Sent": 1,
        "Failed": 1,
        "Delivery cancelled": 0,
    }
    assert api["failures"] == [{"failure_type": "Hard", "failure_reason": "User unknown", "count": 1}]
    assert {p["label"]: p["count"] for p in api["exclusions_by_cause"]} == {"Address empty": 1}
    assert sum(p["count"] for p in api["latency"]) == 2
    assert (api["targets"], api["excluded"]) == (5, 1)
    html = client_for("viewer").get("/deliveries/D1").text
    assert html.count("<canvas") == 5 and html.count('type="application/json"') == 5


def test_summary_without_a_summary_row_says_so(extras_dsn: str, client_for: Any) -> None:
    with psycopg.connect(extras_dsn) as conn:
        conn.execute("DELETE FROM sms_tracking.delivery_summary WHERE delivery_id = 'D2'")
    html = client_for("viewer").get("/deliveries/D2").text
    assert "has not been summarised yet" in html
    assert client_for("viewer").get("/api/deliveries/D2").json()["kpis"] is None


def test_unknown_delivery_is_404(extras_ro: str, client_for: Any) -> None:
    client = client_for("viewer")
    assert client.get("/deliveries/NOPE").status_code == 404
    assert client.get("/api/deliveries/NOPE/log").json() == {"detail": "No delivery with id 'NOPE'"}


def test_delivery_ids_with_slashes_reach_every_tab(extras_dsn: str, client_for: Any) -> None:
    with psycopg.connect(extras_dsn) as conn:
        for table in ("delivery", "delivery_summary"):
            columns = [
                row[0]
                for row in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'sms_tracking' "
                    "AND table_name = %s ORDER BY ordinal_position",
                    (table,),
                ).fetchall()
            ]
            values = ", ".join("'2026/11/promo'" if c == "delivery_id" else c for c in columns)
            conn.execute(
                f"INSERT INTO sms_tracking.{table} ({', '.join(columns)}) "
                f"SELECT {values} FROM sms_tracking.{table} WHERE delivery_id = 'D1'"
            )
    client = client_for("viewer")
    encoded = "2026%2F11%2Fpromo"
    assert client.get(f"/api/deliveries/{encoded}").json()["delivery"]["delivery_id"] == "2026/11/promo"
    for tab in ("", "/sms", "/log", "/exclusions", "/tracking", "/audit"):
        assert client.get(f"/deliveries/{encoded}{tab}").status_code == 200, tab
        assert client.get(f"/api/deliveries/{encoded}{tab}").status_code == 200, tab
    # The list links to it with the slashes encoded.
    assert f'deliveries/{encoded}"' in client.get("/?q=promo").text


def test_sms_tab_shows_the_content_as_sent(extras_ro: str, client_for: Any) -> None:
    sms = client_for("viewer").get("/api/deliveries/D2/sms").json()
    assert sms["content"] == "Hello €uro fans"
    assert (sms["encoding"], sms["units"], sms["segments"]) == ("GSM-7", 16, 1)
    d1 = client_for("viewer").get("/api/deliveries/D1/sms").json()
    assert [u["url"] for u in d1["urls"]] == ["https://shop.example.com/s", "https://shop.example.com/stop"]
    assert (
        "readonly" in client_for("viewer").get("/deliveries/D1/sms").text
        or "read-only" in client_for("viewer").get("/deliveries/D1/sms").text
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["A1", "A2", "A3", "A4"]),
        ({"status": "failed"}, ["A2"]),
        ({"failure_type": "Hard"}, ["A2"]),
        ({"failure_reason": "User unknown"}, ["A2"]),
        ({"status": "delivered", "sort": "done_at", "dir": "desc"}, ["A4", "A1"]),
        ({"sort": "phone", "dir": "desc", "limit": "2"}, ["A4", "A3"]),
    ],
)
def test_delivery_log_filters(extras_ro: str, client_for: Any, params: dict[str, str], expected: list[str]) -> None:
    page = client_for("admin").get("/api/deliveries/D1/log", params=params).json()
    assert [r["provider_message_id"] for r in page["items"]] == expected


def test_delivery_log_shows_raw_status_next_to_the_qualification(extras_ro: str, client_for: Any) -> None:
    (a2,) = [
        r for r in client_for("admin").get("/api/deliveries/D1/log").json()["items"] if r["provider_message_id"] == "A2"
    ]
    assert (a2["status"], a2["failure_type"], a2["failure_reason"], a2["raw_status"], a2["error_code"]) == (
        "failed",
        "Hard",
        "User unknown",
        "UNDELIV",
        "5",
    )


def test_delivery_log_count_is_capped(extras_ro: str, client_for: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from sms_tracking.ui import queries

    monkeypatch.setattr(queries.base, "COUNT_CAP", 2)
    page = client_for("admin").get("/api/deliveries/D1/log", params={"limit": 2}).json()
    assert (page["total_entries"], page["total_is_capped"]) == (2, True)
    html = client_for("admin").get("/deliveries/D1/log", params={"limit": 2}).text
    assert "of 2+" in html and 'rel="next"' in html


def test_exclusions_tab_counts_causes(extras_ro: str, client_for: Any) -> None:
    data = client_for("admin").get("/api/deliveries/X1/exclusions").json()
    assert {c["label"]: c["count"] for c in data["causes"]} == {"Quarantined": 1, "Invalid number": 1}
    only = client_for("admin").get("/api/deliveries/X1/exclusions", params={"reason": "Quarantined"}).json()
    assert [(e["recipient_id"], e["phone"]) for e in only["recipients"]["items"]] == [("x8", "+33622222222")]
    assert only["recipients"]["total_entries"] == 1
    d1 = client_for("admin").get("/api/deliveries/D1/exclusions").json()
    assert [(e["recipient_id"], e["reason"]) for e in d1["recipients"]["items"]] == [("r9", "Address empty")]


def test_tracking_tab_counts_total_unique_and_human_clicks(extras_ro: str, client_for: Any) -> None:
    data = client_for("viewer").get("/api/deliveries/D1/tracking").json()
    urls = {u["url"]: u for u in data["urls"]}
    s = urls["https://shop.example.com/s"]
    assert (s["total"], s["unique_recipients"], s["human_total"], s["human_unique"], s["in_content"]) == (
        5,
        3,
        3,
        2,
        True,
    )
    assert urls["https://shop.example.com/stop"]["total"] == 0
    assert sum(p["values"]["clicks"] for p in data["clicks_over_time"]) == 5
    assert data["log"]["total_entries"] == 5
    assert [c["human"] for c in data["log"]["items"]].count(False) == 2


def test_audit_tab_links_journal_and_pipeline_to_dag_runs(extras_ro: str, client_for: Any) -> None:
    data = client_for("admin").get("/api/deliveries/D1/audit").json()
    assert data["levels"] == {"info": 1, "warning": 1, "error": 1}
    assert {o["kind"] for o in data["pipeline"]} == {"deliveries", "targets", "sends", "clicks", "reports"}
    assert (
        client_for("admin")
        .get("/api/deliveries/D1/audit", params={"level": "error"})
        .json()["journal"]["total_entries"]
        == 1
    )
    html = client_for("admin").get("/deliveries/D1/audit").text
    assert 'href="../../../dags/sms_tracking_build/runs/scheduled__2026-05-04T09%3A00%3A00%2B00%3A00"' in html
    assert client_for("admin").get("/api/deliveries/D1/audit", params={"level": "debug"}).status_code == 422


# --- Quarantine ---------------------------------------------------------------------------------------------


def test_quarantine_list_filters_by_status(extras_ro: str, client_for: Any) -> None:
    client = client_for("admin")
    assert client.get("/api/quarantine").json()["total_entries"] == 3
    page = client.get("/api/quarantine", params={"status": "With errors"}).json()
    assert [q["phone"] for q in page["items"]] == ["+33612345681"]
    assert client.get("/api/quarantine", params={"status": "gone"}).status_code == 422


def test_number_history_shows_changes_and_messages(extras_ro: str, client_for: Any) -> None:
    data = client_for("admin").get("/api/quarantine/+33612345679").json()
    assert data["quarantine"]["status"] == "Quarantine"
    assert [(h["from_status"], h["to_status"]) for h in data["history"]] == [("Valid", "Quarantine")]
    assert [m["provider_message_id"] for m in data["messages"]] == ["A2"]


def history(dsn: str, phone: str) -> list[tuple[Any, ...]]:
    return rows(
        dsn,
        "SELECT from_status, to_status, cause_kind, actor, reason FROM sms_tracking.quarantine_history"
        " WHERE phone_e164 = %s ORDER BY at, id",
        phone,
    )


def test_release_is_written_to_the_history_with_the_user(extras_dsn: str, client_for: Any) -> None:
    response = client_for("op").post("/api/quarantine/+33612345679/release", json={"note": "provider outage"})
    assert response.status_code == 200, response.text
    assert response.json()["to_status"] == "Valid"
    assert history(extras_dsn, "+33612345679")[-1] == ("Quarantine", "Valid", "user", "op-user", "provider outage")
    assert rows(extras_dsn, "SELECT status FROM sms_tracking.quarantine WHERE phone_e164 = '+33612345679'") == [
        ("Valid",)
    ]
    again = client_for("op").post("/api/quarantine/+33612345679/release")
    assert again.status_code == 409


def test_allowlist_by_form_redirects_back_to_the_number(extras_dsn: str, client_for: Any) -> None:
    client = client_for("admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/quarantine/%2B15550199/allowlist").text)
    assert token
    response = client.post(
        "/quarantine/%2B15550199/allowlist", data={"note": "VIP", "csrf_token": token[1]}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "../%2B15550199?done=allowlist"
    assert history(extras_dsn, "+15550199")[-1] == ("Denylisted", "Allowlisted", "user", "admin-user", "VIP")
    page = client.get("/quarantine/%2B15550199", params={"done": "allowlist"}).text
    assert "moved to the allowlist" in page and "admin-user" in page


def test_quarantine_actions_need_the_manage_permission(extras_dsn: str, client_for: Any) -> None:
    for path in WRITES:
        assert client_for("viewer").post(path).status_code == 403, path
    assert history(extras_dsn, "+33612345679") == [("Valid", "Quarantine", "report", None, "User unknown")]
    assert "release-form" not in client_for("viewer").get("/quarantine/+33612345679").text
    assert "release-form" in client_for("user").get("/quarantine/+33612345679").text


def test_cross_site_form_posts_are_refused(extras_dsn: str, client_for: Any) -> None:
    response = client_for("admin").post(
        "/quarantine/%2B33612345679/release", headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert history(extras_dsn, "+33612345679")[-1][1] == "Quarantine"


def test_quarantine_counts_per_status_are_filters(extras_ro: str, client_for: Any) -> None:
    page = client_for("viewer").get("/quarantine").text
    counts = dict(re.findall(r'data-status="([^"]+)" data-count="(\d+)"', page))
    assert counts == {"Valid": "0", "With errors": "1", "Quarantine": "1", "Denylisted": "1", "Allowlisted": "0"}
    assert 'href="?status=Denylisted"' in page
    # The counts follow the other filters in force, not the status filter.
    page = client_for("viewer").get("/quarantine", params={"status": "Quarantine", "reason": "User unknown"}).text
    counts = dict(re.findall(r'data-status="([^"]+)" data-count="(\d+)"', page))
    assert counts["Quarantine"] == "1" and counts["With errors"] == "0"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"reason": "User unknown"}, ["+33612345679"]),
        ({"reason": "Not defined"}, ["+33612345681"]),
        ({"delivery": "D1"}, ["+33612345679"]),
        ({"delivery": "D2"}, []),
        ({"delivery": "D1", "status": "Denylisted"}, []),
    ],
)
def test_quarantine_filters_by_reason_and_causing_delivery(
    extras_ro: str, client_for: Any, params: dict[str, str], expected: list[str]
) -> None:
    items = client_for("admin").get("/api/quarantine", params=params).json()["items"]
    assert [q["phone"] for q in items] == expected


def test_quarantine_and_denylisted_badges_differ(extras_ro: str, client_for: Any) -> None:
    page = client_for("viewer").get("/quarantine").text
    assert 'class="badge q-quarantine"' in page and 'class="badge q-denylisted"' in page
    css = client_for("viewer").get("/static/css/sms-tracking.css").text
    assert ".badge.q-denylisted {" in css


def test_single_release_is_confirmed_first(extras_dsn: str, client_for: Any) -> None:
    client = client_for("admin")
    number_page = client.get("/quarantine/%2B33612345679").text
    assert 'href="./%2B33612345679/release"' in number_page and "<form" not in number_page.split("<main>")[1]
    confirm = client.get("/quarantine/%2B33612345679/release")
    assert confirm.status_code == 200
    assert 'this changes <strong data-count="1">1 number</strong>' in confirm.text
    assert history(extras_dsn, "+33612345679")[-1][1] == "Quarantine"  # nothing changed by looking
    assert client_for("viewer").get("/quarantine/%2B33612345679/release").status_code == 403


def test_bulk_release_states_how_many_and_acts_on_the_filtered_numbers(extras_dsn: str, client_for: Any) -> None:
    client = client_for("op")
    list_page = client.get("/quarantine", params={"reason": "User unknown"}).text
    assert 'href="./quarantine/bulk/release?reason=User+unknown"' in list_page
    confirm = client.get("/quarantine/bulk/release", params={"reason": "User unknown"})
    assert 'data-count="1">1 number</strong>' in confirm.text
    assert client.get("/api/quarantine/bulk/release", params={"reason": "User unknown"}).json() == {
        "action": "release",
        "to_status": "Valid",
        "count": 1,
    }
    # A count that no longer matches what was confirmed changes nothing.
    token = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text)[1]  # type: ignore[index]
    stale = client.post("/quarantine/bulk/release?reason=User+unknown", data={"expected": "2", "csrf_token": token})
    assert stale.status_code == 409 and history(extras_dsn, "+33612345679")[-1][1] == "Quarantine"
    form = {"expected": "1", "note": "outage", "csrf_token": token}
    done = client.post("/quarantine/bulk/release?reason=User+unknown", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "../../quarantine?reason=User+unknown&done=release&changed=1"
    assert history(extras_dsn, "+33612345679")[-1] == ("Quarantine", "Valid", "user", "op-user", "outage")
    assert rows(extras_dsn, "SELECT phone_e164, status FROM sms_tracking.quarantine ORDER BY 1") == [
        ("+15550199", "Denylisted"),
        ("+33612345679", "Valid"),
        ("+33612345681", "With errors"),
    ]


def test_bulk_allowlist_through_the_api(extras_dsn: str, client_for: Any) -> None:
    client = client_for("admin")
    preview = client.get("/api/quarantine/bulk/allowlist").json()
    assert preview["count"] == 3
    result = client.post("/api/quarantine/bulk/allowlist", json={"expected": 3, "note": "VIP list"}).json()
    assert result == {"action": "allowlist", "to_status": "Allowlisted", "changed": 3, "actor": "admin-user"}
    assert rows(extras_dsn, "SELECT DISTINCT status FROM sms_tracking.quarantine") == [("Allowlisted",)]
    assert client.get("/api/quarantine/bulk/allowlist").json()["count"] == 0


def test_release_of_an_unknown_or_invalid_number(extras_dsn: str, client_for: Any) -> None:
    client = client_for("admin")
    assert client.post("/api/quarantine/+33600000000/release").status_code == 404
    assert client.post("/api/quarantine/+1555/allowlist").status_code == 422
    assert client.post("/api/quarantine/not-a-number/release").status_code == 422
    assert client.post("/api/quarantine/+33612345679/delete").status_code == 422


# --- Qualification and data quality -------------------------------------------------------------------------


def test_qualification_lists_codes_to_qualify_first(extras_ro: str, client_for: Any) -> None:
    items = client_for("viewer").get("/api/qualification", params={"limit": 200}).json()["items"]
    states = [q["state"] for q in items]
    assert states[:2] == ["to_qualify", "to_qualify"] and "to_qualify" not in states[2:]
    first = items[0]
    assert first["occurrences"] >= 1 and first["first_text"]
    only = client_for("viewer").get("/api/qualification", params={"provider": "twilio", "state": "keep"}).json()
    assert {q["provider"] for q in only["items"]} == {"twilio"}


ROW = "/qualification/smpp/UNDELIV/77"
"""The row the build added for SMPP err:077 (to qualify), edited by the tests below."""


def qualify(client: Any, path: str = ROW, **values: str) -> Any:
    """Post the row's edit form as the browser does: its token, then the chosen values."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert token, "the page has no edit form"
    form = {
        "state": "keep",
        "outcome": "failed",
        "failure_type": "Hard",
        "failure_reason": "User unknown",
        "note": "checked with the SMSC",
        **values,
        "csrf_token": token[1],
    }
    return client.post(path, data=form, follow_redirects=False)


def test_qualifying_a_row_keeps_its_history_and_starts_the_requalification(extras_dsn: str, client_for: Any) -> None:
    client = client_for("op")
    assert rows(
        extras_dsn,
        "SELECT state, failure_type, failure_reason FROM sms_tracking.qualification "
        "WHERE (provider, raw_status, error_code) = ('smpp', 'UNDELIV', '77')",
    ) == [("to_qualify", "Soft", "Not defined")]
    response = qualify(client)
    assert response.status_code == 303, response.text[:500]
    # No Airflow metadata database here: the edit is kept and the page says the run could not be created.
    assert response.headers["location"].startswith("77?not_started=")
    assert rows(
        extras_dsn,
        "SELECT state, origin, failure_type, failure_reason FROM sms_tracking.qualification "
        "WHERE (provider, raw_status, error_code) = ('smpp', 'UNDELIV', '77')",
    ) == [("keep", "user", "Hard", "User unknown")]
    ((actor, before, after, note, run_id),) = rows(
        extras_dsn, "SELECT actor, before, after, note, requalify_run_id FROM sms_tracking.qualification_change"
    )
    assert actor == "op-user" and note == "checked with the SMSC" and run_id.startswith("qualification__")
    assert (before["state"], before["failure_type"], before["failure_reason"], before["origin"]) == (
        "to_qualify",
        "Soft",
        "Not defined",
        "auto",
    )
    assert (after["state"], after["failure_type"], after["failure_reason"], after["origin"]) == (
        "keep",
        "Hard",
        "User unknown",
        "user",
    )
    page = client.get(ROW + "?" + response.headers["location"].split("?", 1)[1]).text
    assert "could not be started" in page and 'data-testid="change"' in page and "op-user" in page
    assert 'data-testid="changes"' in client.get("/qualification").text
    # The same values again change nothing; a later edit is a second line of the history.
    assert qualify(client).status_code == 409
    assert qualify(client, state="ignore").status_code == 303
    assert rows(extras_dsn, "SELECT after ->> 'state' FROM sms_tracking.qualification_change ORDER BY id") == [
        ("keep",),
        ("ignore",),
    ]
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        rows(extras_dsn, "UPDATE sms_tracking.qualification_change SET actor = 'x'")


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"failure_reason": "Denylisted address"}, "'Not defined', 'User unknown'"),
        ({"failure_type": "Soft"}, "allows the failure types 'Hard', not 'Soft'"),
        ({"failure_type": "Fatal"}, "'Hard', 'Soft', 'Ignored'"),
        ({"state": "to_qualify"}, "'keep', 'ignore'"),
        ({"outcome": "lost"}, "'pending', 'delivered', 'failed'"),
        ({"outcome": "delivered"}, "no failure type or reason"),
    ],
)
def test_invalid_edits_are_422_naming_the_allowed_values(
    extras_dsn: str, client_for: Any, values: dict[str, str], named: str
) -> None:
    response = qualify(client_for("admin"), **values)
    assert response.status_code == 422
    assert html.unescape(response.text).count(named), response.text[:800]
    assert rows(extras_dsn, "SELECT count(*) FROM sms_tracking.qualification_change") == [(0,)]


def test_viewers_see_the_row_read_only(extras_dsn: str, client_for: Any) -> None:
    page = client_for("viewer").get(ROW).text
    assert 'data-testid="read-only"' in page and 'data-testid="qualify-form"' not in page
    assert client_for("viewer").post(ROW, data={"state": "keep", "outcome": "pending"}).status_code == 403
    assert 'data-testid="qualify-form"' in client_for("user").get(ROW).text
    assert client_for("viewer").get("/qualification/smpp/NOPE/1").status_code == 404


def test_a_row_set_by_the_overrides_file_is_edited_there(
    extras_dsn: str, client_for: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = {"provider": "smpp", "raw_status": "UNDELIV", "error_code": "077", "outcome": "failed"}
    row |= {"failure_type": "Soft", "failure_reason": "Unreachable"}
    config_file(monkeypatch, tmp_path / "overrides.yaml", "qualification_overrides", {"overrides": [row]})
    client = client_for("admin")
    assert "overrides.yaml sets this row" in client.get(ROW).text
    token = client.cookies.get("sms_tracking_csrf")  # the form token every page sets
    assert token
    response = client.post(
        ROW,
        data={
            "state": "keep",
            "outcome": "failed",
            "failure_type": "Hard",
            "failure_reason": "User unknown",
            "csrf_token": token,
        },
    )
    assert response.status_code == 409 and "the file wins" in response.text


def test_quality_page_shows_the_latest_run_per_table(extras_ro: str, client_for: Any) -> None:
    data = client_for("viewer").get("/api/quality").json()
    tables = {t["table_name"]: t for t in data["tables"]}
    log = tables["delivery_log"]
    assert (log["run_id"], log["failed"], log["critical_failed"], log["success"]) == ("run-1", 1, 0, False)
    assert [r["expectation"] for r in log["results"]] == ["no_stuck", "phone_not_null"]
    assert tables["exclusion"]["skipped"] == 1
    assert data["data_docs_available"] is False
    # run-2 came later but had no rows in scope: the page keeps run-1 and says so.
    assert log["newest_validated_at"].startswith("2026-05-04T11:00")
    assert data["totals"] == {"critical_failed": 0, "warning_failed": 1, "passed": 2, "skipped": 1}
    observed = {r["expectation"]: r["observed_value"] for t in tables.values() for r in t["results"]}
    assert observed["status_mix"] == "Quarantine: 1; With errors: 2" and observed["no_stuck"] == "1"
    page = client_for("viewer").get("/quality").text
    assert (
        page.index('data-testid="quality-totals"')
        < page.index('data-testid="quality-summary"')
        < page.index('id="table-delivery_log"')
    )
    assert '<a href="#table-delivery_log">1</a>' in page and "had no new rows in scope" in page
    assert "&#34;" not in page.split('data-testid="quality-summary"')[1]  # no JSON quoting shown


def test_data_docs_are_served_sandboxed(
    extras_ro: str, client_for: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "index.html").write_text("<html><script>var docs = 1;</script>GX</html>")
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__DATA_DOCS", str(tmp_path))
    client = client_for("viewer")
    assert 'href="./data-docs/index.html"' in client.get("/quality").text
    response = client.get("/data-docs/index.html")
    assert response.status_code == 200 and "GX" in response.text
    assert response.headers["content-security-policy"].startswith("sandbox allow-scripts")
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    assert client_for(None).get("/data-docs/index.html").status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/static/..%2F..%2Fui%2Fapp.py",
        "/static/%2Fetc%2Fpasswd",
        "/data-docs/..%2F..%2Fetc%2Fpasswd",
        "/static/missing.js",
    ],
)
def test_file_routes_stay_inside_their_folder(extras_ro: str, client_for: Any, path: str) -> None:
    assert client_for("viewer").get(path).status_code == 404


# --- Missing tables: empty states, then working pages ------------------------------------------------------


def test_pages_before_the_optional_tables_exist(bare_dsn: str, client_for: Any) -> None:
    client = client_for("admin")
    notices = {
        "/deliveries/D1/exclusions": "No exclusion data yet: the exclusion table",
        "/quarantine": "No quarantine data yet: the quarantine table",
        "/quarantine/+33612345679": "No quarantine data yet",
        "/deliveries/D1/audit": "No delivery journal yet",
        "/quality": "No validation results yet",
    }
    for path, notice in notices.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert notice in response.text, path
    assert client.get("/deliveries/D1").status_code == 200
    assert client.get("/api/quarantine").json()["available"] is False
    assert client.get("/api/deliveries/D1/exclusions").json()["recipients"]["available"] is False
    conflict = client.post("/api/quarantine/+33612345679/release")
    assert conflict.status_code == 409 and "sms_tracking.quarantine" in conflict.json()["detail"]


def test_a_page_works_as_soon_as_its_table_appears(bare_dsn: str, client_for: Any) -> None:
    from sms_tracking import db, resources

    client = client_for("admin")
    assert "No exclusion data yet" in client.get("/deliveries/D1/exclusions").text
    migration = (resources.sql_dir() / "migrations" / "0003_quarantine.sql").read_text()
    (create,) = [s for s in db.split_statements(migration) if "CREATE TABLE sms_tracking.exclusion (" in s]
    with psycopg.connect(bare_dsn) as conn:
        conn.execute(create)  # type: ignore[arg-type]
        conn.execute("INSERT INTO sms_tracking.exclusion VALUES ('D1', 'r9', NULL, NULL, 'Address empty', now(), 'r')")
    page = client.get("/deliveries/D1/exclusions").text
    assert "No exclusion data yet" not in page and "Address empty" in page


# --- Untrusted content: XSS and SQL injection ---------------------------------------------------------------


@pytest.mark.parametrize("path", X1_PAGES)
def test_untrusted_text_is_escaped(extras_ro: str, client_for: Any, path: str) -> None:
    response = client_for("admin").get(path)
    assert response.status_code == 200
    html = response.text
    assert (
        "<script>alert" not in html
        and "<img src=x" not in html
        and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    )
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)


def test_payloads_are_shown_as_text(extras_ro: str, client_for: Any) -> None:
    client = client_for("admin")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in client.get("/deliveries/X1").text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in client.get("/").text
    assert client.get("/api/deliveries/X1").json()["delivery"]["name"] == '<script>alert("x")</script>'


def test_json_chart_data_cannot_close_its_script_block(extras_ro: str, client_for: Any) -> None:
    html = client_for("admin").get("/deliveries/X1/tracking").text
    for block in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S):
        assert "<" not in block


@pytest.mark.parametrize(
    "params",
    [
        {"q": "<script>alert(9)</script>"},
        {"q": '"><svg onload=alert(9)>'},
        {"provider": "<b>x</b>"},
        {"sender": "'><script>alert(9)</script>"},
    ],
)
def test_search_parameters_are_echoed_escaped(extras_ro: str, client_for: Any, params: dict[str, str]) -> None:
    html = client_for("viewer").get("/", params=params).text
    assert "<script>alert(9)" not in html and "<svg onload" not in html and "<b>x</b>" not in html


def test_error_pages_escape_what_they_echo(extras_ro: str, client_for: Any) -> None:
    response = client_for("viewer").get("/deliveries/%3Cimg%20src%3Dx%20onerror%3Dalert(3)%3E")
    assert response.status_code == 404
    assert "<img src=x" not in response.text and "&lt;img src=x onerror=alert(3)&gt;" in response.text
    bad = client_for("viewer").get("/deliveries/D1/log", params={"phone": "<img src=x onerror=alert(4)>"})
    assert bad.status_code == 422 and "<img src=x" not in bad.text


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/deliveries", {"q": "' OR 1=1 --"}),
        ("/api/deliveries", {"q": "%"}),
        ("/api/deliveries", {"q": "_"}),
        ("/api/deliveries", {"provider": "x' OR '1'='1"}),
        ("/api/deliveries", {"sender": "SHOP'; DROP TABLE sms_tracking.delivery; --"}),
        ("/api/deliveries/D1/log", {"failure_reason": "' OR ''='"}),
        ("/api/deliveries/D1/exclusions", {"reason": "x' UNION SELECT * FROM sms_tracking.target --"}),
        ("/api/qualification", {"provider": "smpp' OR 'a'='a"}),
    ],
)
def test_sql_injection_in_filters_matches_nothing(
    extras_ro: str, client_for: Any, path: str, params: dict[str, str]
) -> None:
    response = client_for("admin").get(path, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    items = body["recipients"]["items"] if "recipients" in body else body["items"]
    assert items == []


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/deliveries", {"sort": "created_at; DROP TABLE sms_tracking.delivery"}),
        ("/api/deliveries", {"sort": "(SELECT 1)"}),
        ("/api/deliveries", {"dir": "asc; --"}),
        ("/api/deliveries/D1/log", {"sort": "l.phone_e164"}),
        ("/api/deliveries/D1/log", {"status": "failed' OR '1'='1"}),
        ("/api/quarantine", {"sort": "1"}),
        ("/api/deliveries/D1/log", {"phone": "+33' OR 1=1 --"}),
    ],
)
def test_sort_and_enumerated_filters_outside_the_allow_list_are_422(
    extras_ro: str, client_for: Any, path: str, params: dict[str, str]
) -> None:
    assert client_for("admin").get(path, params=params).status_code == 422


def test_injection_in_path_ids_finds_nothing(extras_ro: str, client_for: Any) -> None:
    client = client_for("admin")
    assert client.get("/api/deliveries/D1' OR '1'='1").status_code == 404
    assert client.get("/api/quarantine/+33612345679' OR '1'='1").status_code == 422
    assert rows(extras_ro, "SELECT count(*) FROM sms_tracking.delivery") == [(4,)]


# --- Page framing, headers and links ------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, "/api/deliveries"])
def test_security_headers(extras_ro: str, client_for: Any, path: str) -> None:
    headers = client_for("viewer").get(path).headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", [*PAGES, "/deliveries/D1/log?status=failed&sort=phone"])
def test_every_link_is_relative(extras_ro: str, client_for: Any, path: str) -> None:
    html = client_for("admin").get(path).text
    for url in URL_ATTR.findall(html):
        assert not url.startswith(("/", "http:", "https:", "//", "javascript:")), url


def test_pages_render_under_a_base_url_sub_path(extras_ro: str, plugin_app: Any, client_for: Any) -> None:
    from fastapi.testclient import TestClient

    client_for("admin")  # installs the user override on the shared app
    client = TestClient(plugin_app, root_path="/airflow/sms-tracking", headers={"x-test-role": "admin"})
    html = client.get("/airflow/sms-tracking/deliveries/D1/log").text
    assert 'href="../../static/css/sms-tracking.css"' in html
    assert 'href="../../deliveries/D1/sms"' in html


def test_openapi_documents_every_api_route(extras_ro: str, client_for: Any) -> None:
    paths = set(client_for("viewer").get("/api/openapi.json").json()["paths"])
    expected = {p.replace("D1", "{delivery_id}").replace("+33612345679", "{phone}") for p in API}
    assert expected - {"/api/openapi.json"} <= paths
    assert "/api/quarantine/{phone}/{action}" in paths
    assert all(p.startswith(("/api/", "/export/")) for p in paths)  # the JSON API and the CSV exports


# --- The build's pre-aggregated tables, as migration 0004 announces them ---------------------------------

PRE_AGGREGATED = """
CREATE TABLE IF NOT EXISTS sms_tracking.delivery_failure_summary (
    delivery_id text NOT NULL, failure_type text, failure_reason text, messages integer NOT NULL,
    segments integer NOT NULL, cost numeric(14, 5));
CREATE TABLE IF NOT EXISTS sms_tracking.delivery_exclusion_summary (
    delivery_id text NOT NULL, reason text NOT NULL, recipients integer NOT NULL, PRIMARY KEY (delivery_id, reason));
CREATE TABLE IF NOT EXISTS sms_tracking.delivery_url_summary (
    delivery_id text NOT NULL, url text NOT NULL, url_position integer, label text, is_opt_out boolean NOT NULL,
    total_clicks integer NOT NULL, total_clicks_human integer NOT NULL, unique_clickers integer NOT NULL,
    unique_clickers_human integer NOT NULL, click_through_rate numeric(7, 6), click_through_rate_raw numeric(7, 6),
    PRIMARY KEY (delivery_id, url));
CREATE TABLE IF NOT EXISTS sms_tracking.tracking_log (
    click_key text PRIMARY KEY, delivery_id text NOT NULL, recipient_id text, tracking_token text,
    clicker text NOT NULL, provider text, provider_message_id text, url text NOT NULL, url_position integer,
    label text, is_opt_out boolean NOT NULL, clicked_at timestamptz NOT NULL, user_agent text, method text NOT NULL,
    message_at timestamptz, seconds_after_message numeric(14, 3), is_bot boolean NOT NULL, bot_reason text);
ALTER TABLE sms_tracking.delivery_summary
    ADD COLUMN IF NOT EXISTS initial_population integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS excluded integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS to_deliver integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS total_clicks integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS total_clicks_human integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS unique_clickers_human integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS click_through_rate numeric(7, 6);
DELETE FROM sms_tracking.delivery_failure_summary WHERE delivery_id = 'D1';
DELETE FROM sms_tracking.delivery_exclusion_summary WHERE delivery_id = 'D1';
DELETE FROM sms_tracking.delivery_url_summary WHERE delivery_id = 'D1';
DELETE FROM sms_tracking.tracking_log WHERE delivery_id = 'D1';
INSERT INTO sms_tracking.delivery_failure_summary VALUES ('D1', 'Soft', 'Unreachable', 7, 7, NULL);
INSERT INTO sms_tracking.delivery_exclusion_summary VALUES ('D1', 'Duplicate', 9);
INSERT INTO sms_tracking.delivery_url_summary VALUES
    ('D1', 'https://shop.example.com/s', 1, 'Sale today', false, 11, 8, 6, 5, 0.5, 0.6);
INSERT INTO sms_tracking.tracking_log VALUES
    ('k1', 'D1', 'r1', NULL, 'r1', 'smpp', 'A1', 'https://shop.example.com/s', 1, 'Sale today', false,
     '2026-05-04T08:12:01Z', 'Mozilla/5.0', 'GET', '2026-05-04T08:12:00Z', 1, true, 'too_fast');
UPDATE sms_tracking.delivery_summary
   SET initial_population = 12, excluded = 9, to_deliver = 3, total_clicks = 11, total_clicks_human = 8,
       unique_clickers_human = 5, click_through_rate = 0.5
 WHERE delivery_id = 'D1';
"""


def test_pages_prefer_the_builds_pre_aggregated_tables(extras_dsn: str, client_for: Any) -> None:
    with psycopg.connect(extras_dsn) as conn:
        conn.execute(PRE_AGGREGATED)  # type: ignore[arg-type]
    client = client_for("admin")
    summary = client.get("/api/deliveries/D1").json()
    assert summary["failures"] == [{"failure_type": "Soft", "failure_reason": "Unreachable", "count": 7}]
    assert summary["exclusions_by_cause"] == [{"label": "Duplicate", "count": 9}]
    assert summary["kpis"]["indicators"]["to_deliver"] == 3
    html = client.get("/deliveries/D1").text
    for column, value in (("initial_population", 12), ("excluded", 9), ("to_deliver", 3), ("total_clicks", 11)):
        assert f'data-kpi="{column}" data-value="{value}"' in html, column
    tracking = client.get("/api/deliveries/D1/tracking").json()
    assert next((u["url"], u["total"], u["human_unique"]) for u in tracking["urls"]) == (
        "https://shop.example.com/s",
        11,
        5,
    )
    assert tracking["flagged_by_build"] is True
    assert [(c["human"], c["bot_reason"]) for c in tracking["log"]["items"]] == [(False, "too_fast")]
    # A delivery the build has not summarised into those tables yet keeps the computed figures.
    other = client.get("/api/deliveries/X1/tracking").json()
    assert other["flagged_by_build"] is False and other["log"]["items"]


def test_list_and_summary_agree_on_success_rate_and_human_clicks(extras_ro: str, client_for: Any) -> None:
    """One success rate (sms_tracking.success_rate) and one human-click count (the build's, when it flagged
    the clicks) for the deliveries list and the Summary tab, bot clicks and a HEAD probe included."""
    client = client_for("admin")
    listed = {d["delivery_id"]: d for d in client.get("/api/deliveries", params={"proofs": "true"}).json()["items"]}
    assert listed
    for delivery_id, row in listed.items():
        summary = client.get(f"/api/deliveries/{delivery_id}").json()
        kpis = summary["kpis"]
        assert row["success_rate"] == (kpis["success_rate"] if kpis else None), delivery_id
        assert (row["clicks"], row["human_clicks"]) == (summary["clicks"], summary["human_clicks"]), delivery_id
        if kpis and kpis["indicators"].get("total_clicks") is not None:
            indicators = kpis["indicators"]
            assert (row["clicks"], row["human_clicks"]) == (
                indicators["total_clicks"],
                indicators["total_clicks_human"],
            ), delivery_id
    stored = dict(rows(extras_ro, "SELECT delivery_id, success_rate FROM sms_tracking.delivery_summary"))
    assert {k: v["success_rate"] for k, v in listed.items() if k in stored} == {
        k: (float(v) if v is not None else None) for k, v in stored.items() if k in listed
    }


def test_list_human_clicks_follow_the_builds_bot_flag(extras_dsn: str, client_for: Any) -> None:
    """A click the build flags (e.g. too fast after the message, which the raw clicks cannot tell) is not
    human in the list either: the list reads the build's count, as the Summary tiles do."""
    with psycopg.connect(extras_dsn) as conn:
        (human,) = conn.execute(
            "UPDATE sms_tracking.delivery_summary SET total_clicks_human = total_clicks_human - 1"
            " WHERE delivery_id = 'D1' RETURNING total_clicks_human"
        ).fetchone()  # type: ignore[misc]
    d1 = next(d for d in client_for("admin").get("/api/deliveries").json()["items"] if d["delivery_id"] == "D1")
    summary = client_for("admin").get("/api/deliveries/D1").json()
    assert d1["human_clicks"] == summary["human_clicks"] == summary["kpis"]["indicators"]["total_clicks_human"] == human
