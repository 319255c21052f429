"""The pages in a real browser, through the real ``airflow api-server`` and Debian's Chromium.

Logs in as admin, opens Browse → SMS Tracking, opens a delivery from the list, visits every tab,
checks the KPI tiles against ``delivery_summary`` and saves screenshots to ``test-artifacts/``.
Chromium comes from the system (``scripts/ensure-chromium.sh`` installs Debian's package when it
is missing and it can), never from a playwright download.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from tests import servers
from tests.project import PROJECT

pytestmark = [pytest.mark.browser, pytest.mark.airflow, pytest.mark.integration]

ARTIFACTS = PROJECT / "test-artifacts"
DOCS_SCREENSHOT = PROJECT / "docs" / "img" / "dashboard.png"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TABS = ("summary", "sms", "log", "exclusions", "tracking", "audit")
SUMMARY_COLUMNS = ("sent", "delivered", "failed", "pending", "success", "hard", "soft", "ignored", "segments")


def chromium() -> str:
    """Debian's Chromium (or ``SMS_TRACKING_CHROMIUM``), installed by the project's script when missing."""
    wanted = os.environ.get("SMS_TRACKING_CHROMIUM")
    if wanted:
        return wanted
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        subprocess.run(["bash", str(PROJECT / "scripts" / "ensure-chromium.sh")], check=False)
        found = shutil.which("chromium")
    if not found:
        pytest.fail(
            "Chromium is missing and scripts/ensure-chromium.sh could not install it: install Debian's "
            "'chromium' package or set SMS_TRACKING_CHROMIUM."
        )
    return found


@contextmanager
def browser_page(height: int = 900, **options: Any) -> Iterator[Any]:
    """A page of Debian's Chromium, 1440 pixels wide, 20 s to wait for anything; the browser closes after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": height}, **options)
            page.set_default_timeout(20_000)
            yield page
        finally:
            browser.close()


@pytest.fixture
def api_server(airflow_db: Path, extras_dsn: str, tmp_path: Path) -> Iterator[str]:
    """The real ``airflow api-server`` on a free port, with the test Airflow home and the loaded database."""
    ARTIFACTS.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "AIRFLOW_CONN_SMS_TRACKING_POSTGRES": extras_dsn,
        "SMS_TRACKING_DSN": extras_dsn,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT / "plugins"), os.environ.get("PYTHONPATH")])),
    }
    with servers.api_server([sys.executable, "-m", "airflow"], env, tmp_path, ARTIFACTS / "api-server.log") as base:
        yield base


def summary_row(dsn: str, delivery_id: str) -> dict[str, Any]:
    """The delivery's delivery_summary row as JSON: every column, whatever the migrations added."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT to_jsonb(s) FROM sms_tracking.delivery_summary s WHERE delivery_id = %s", (delivery_id,)
        ).fetchone()
    assert row is not None
    return dict(row[0])


def test_dashboard_in_the_airflow_ui(api_server: str, extras_dsn: str) -> None:
    from playwright.sync_api import expect

    with browser_page(height=1000) as page:
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

        login(page, api_server)
        page.get_by_role("button", name="Browse").click()
        page.get_by_role("menuitem", name="SMS Tracking").click()
        page.wait_for_url("**/plugin/sms-tracking**")
        frame = page.frame_locator("iframe")
        deliveries = frame.locator("table[data-testid='deliveries']")
        expect(deliveries).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "01-deliveries.png"), full_page=True)

        frame.get_by_role("link", name="Spring sale").click()
        expect(frame.locator("[data-testid='delivery-name']")).to_have_text("Spring sale")
        expect(frame.locator("canvas[data-rendered='true']").first).to_be_visible()

        expected = summary_row(extras_dsn, "D1")
        tiles = frame.locator("[data-kpi]")
        shown = {tiles.nth(i).get_attribute("data-kpi"): tiles.nth(i) for i in range(tiles.count())}
        assert set(SUMMARY_COLUMNS) <= set(shown) <= set(expected)
        for column, tile in shown.items():
            assert tile.get_attribute("data-value") == str(expected[column]), column
            assert tile.locator(".value").inner_text().replace(",", "") == str(expected[column]), column
        page.screenshot(path=str(ARTIFACTS / "02-summary.png"), full_page=True)
        if os.environ.get("SMS_TRACKING_UPDATE_DOCS_SCREENSHOT") == "1":
            page.screenshot(path=str(DOCS_SCREENSHOT))

        for number, tab in enumerate(TABS[1:], start=3):
            frame.locator(f"nav[data-testid='tabs'] a[data-tab='{tab}']").click()
            expect(frame.locator(f"[data-testid='tab-{tab}']")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / f"{number:02d}-{tab}.png"), full_page=True)
        assert page.url.endswith("/deliveries/D1/audit"), page.url

        # The same page in Airflow's dark theme: the embedded page follows it.
        page.evaluate("localStorage.setItem('theme', 'dark')")
        page.reload()
        expect(page.frame_locator("iframe").locator("html.dark")).to_have_count(1)
        expect(page.frame_locator("iframe").locator("[data-testid='tab-audit']")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "09-audit-dark.png"), full_page=True)

        # A run link hands the route to Airflow's own router (top-level navigation is sandboxed).
        frame = page.frame_locator("iframe")
        frame.locator("nav[data-testid='tabs'] a[data-tab='summary']").click()
        frame.locator("[data-testid='refreshed'] a.airflow-link").click()
        page.wait_for_url("**/dags/sms_tracking_build/runs/ui-test-run")
        expect(page.locator("iframe")).to_have_count(0)

        assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


SCREENS = {
    "deliveries": "",
    "summary": "deliveries/D1",
    "sms": "deliveries/D1/sms",
    "log": "deliveries/D1/log",
    "exclusions": "deliveries/D1/exclusions",
    "tracking": "deliveries/D1/tracking",
    "audit": "deliveries/D1/audit",
    "quarantine": "quarantine",
    "quarantine-bulk": "quarantine/bulk/release?status=Quarantine",
    "number": "quarantine/%2B33612345679",
    "qualification": "qualification",
    "quality": "quality",
}
"""Every page (name: path below the app), shot in light and dark theme at 1440x900."""


def login(page: Any, api_server: str) -> None:
    page.goto(api_server + "/")
    page.locator("input[name='username']").fill("admin")
    page.locator("input[name='password']").fill("admin")
    page.locator("button[type='submit']").click()
    page.get_by_role("button", name="Browse").wait_for()


def test_every_page_fits_the_window_in_both_themes(api_server: str, extras_dsn: str) -> None:
    """No page scrolls sideways at 1440x900 (every column visible, nothing cut off), in light and dark theme;
    the screenshots are the ones docs/ui.md shows (refreshed with SMS_TRACKING_UPDATE_DOCS_SCREENSHOT=1)."""
    from playwright.sync_api import expect

    folder = PROJECT / "docs" / "img" if os.environ.get("SMS_TRACKING_UPDATE_DOCS_SCREENSHOT") == "1" else ARTIFACTS
    folder.mkdir(exist_ok=True)
    with browser_page() as page:
        login(page, api_server)
        for theme in ("light", "dark"):
            page.evaluate(f"localStorage.setItem('theme', '{theme}')")
            for name, path in SCREENS.items():
                page.goto(f"{api_server}/plugin/sms-tracking/sms-tracking/{path}")
                frame = page.frame_locator("iframe")
                expect(frame.locator(f"html.{theme} main")).to_be_visible()
                if frame.locator("canvas[data-chart]").count():
                    expect(frame.locator("canvas[data-rendered='true']").first).to_be_visible()
                inner = page.frame(url=lambda url: "/sms-tracking/" in url and "/plugin/" not in url)
                assert inner is not None
                overflow = inner.evaluate(
                    "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
                    " [...document.querySelectorAll('.table-panel, .panel')].filter("
                    "  e => e.scrollWidth > e.clientWidth + 1).map(e => e.className)]"
                )
                page.screenshot(path=str(folder / f"{name}-{theme}.png"))
                assert overflow[0] <= overflow[1] and not overflow[2], (name, theme, overflow)


APP = "/plugin/sms-tracking/sms-tracking/"
QUALIFY_ROW = "qualification/smpp/UNDELIV/66"
"""The code to qualify of delivery X1's only message (SMPP err:066, Soft / Not defined until qualified)."""


def kpis(frame: Any) -> dict[str, str]:
    tiles = frame.locator("[data-kpi]")
    return {
        tiles.nth(i).get_attribute("data-kpi"): tiles.nth(i).get_attribute("data-value") for i in range(tiles.count())
    }


def airflow_api(base: str, path: str) -> Any:
    """A GET of Airflow's REST API as the demo's admin (a token from the simple auth manager)."""
    status, body = servers.get_json(f"{base}{path}", servers.token(base))
    assert status == 200, (path, status)
    return body


def serialise_requalify_dag() -> None:
    """The requalify DAG in Airflow's metadata database, as the dag-processor would put it there: the
    run a qualification edit creates needs it."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(PROJECT / "dags" / "sms_tracking_requalify.py"))
    assert not bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)


def test_qualify_a_code_and_see_the_summary_change(api_server: str, extras_dsn: str) -> None:
    """An operator qualifies X1's code in the view; the edit creates a queued requalify run in Airflow (no
    scheduler here: the test runs the DAG with the same scope through ``airflow dags test``); the delivery's
    Summary then counts the failure Hard instead of Soft. Screenshots of the edit form for docs/ui.md."""
    from playwright.sync_api import expect

    serialise_requalify_dag()
    docs = os.environ.get("SMS_TRACKING_UPDATE_DOCS_SCREENSHOT") == "1"
    folder = PROJECT / "docs" / "img" if docs else ARTIFACTS
    with browser_page() as page:
        login(page, api_server)
        page.goto(f"{api_server}{APP}deliveries/X1")
        frame = page.frame_locator("iframe")
        expect(frame.locator("[data-kpi='soft']")).to_be_visible()
        before = kpis(frame)
        assert (before["soft"], before["hard"]) == ("1", "0"), before

        for theme in ("dark", "light"):
            page.evaluate(f"localStorage.setItem('theme', '{theme}')")
            page.goto(f"{api_server}{APP}{QUALIFY_ROW}")
            frame = page.frame_locator("iframe")
            expect(frame.locator(f"html.{theme} [data-testid='qualify-form']")).to_be_visible()
            page.screenshot(path=str(folder / f"qualification-edit-{theme}.png"))
        form = frame.locator("[data-testid='qualify-form']")
        form.locator("select[name='state']").select_option("keep")
        form.locator("select[name='failure_type']").select_option("Hard")
        form.locator("select[name='failure_reason']").select_option("User unknown")
        form.locator("input[name='note']").fill("unknown subscriber on our SMSC")
        form.locator("[data-testid='qualify-button']").click()
        expect(frame.locator("[data-testid='row-reason']")).to_have_text("User unknown")
        expect(frame.get_by_text("re-qualification of past reports has started")).to_be_visible()
        expect(frame.locator("[data-testid='change'] [data-testid='run-state']")).to_have_text("queued")

        with psycopg.connect(extras_dsn) as conn:
            (run_id,) = conn.execute(  # type: ignore[misc]
                "SELECT requalify_run_id FROM sms_tracking.qualification_change WHERE note = %s",
                ("unknown subscriber on our SMSC",),
            ).fetchone()
        # Read through Airflow's REST API: the run is where the API server (and the scheduler) see it.
        run = airflow_api(api_server, f"/api/v2/dags/sms_tracking_requalify/dagRuns/{quote(run_id)}")
        assert (run["state"], run["triggering_user_name"]) == ("queued", "admin")
        conf = dict(run["conf"])
        env = {**os.environ, "AIRFLOW_CONN_SMS_TRACKING_POSTGRES": extras_dsn}
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "dags", "test", "sms_tracking_requalify", "-c", json.dumps(conf)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]

        page.goto(f"{api_server}{APP}deliveries/X1")
        frame = page.frame_locator("iframe")
        expect(frame.locator("[data-kpi='hard']")).to_have_attribute("data-value", "1")
        after = kpis(frame)
        assert (after["soft"], after["hard"]) == ("0", "1"), after
        # Still one failure, now Hard: its number was quarantined by the replay.
        assert (after["failed"], after["new_quarantines"]) == (before["failed"], "1"), after
        assert after["hard"] == str(summary_row(extras_dsn, "X1")["hard"])


def formula_free(cell: str) -> str:
    """A CSV cell as the page shows it: the export quotes a leading ``+`` (a spreadsheet formula) with ``'``."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@") else cell


def test_a_csv_export_holds_the_rows_of_its_page(api_server: str, extras_dsn: str, tmp_path: Path) -> None:
    """The quarantine list's Export CSV, downloaded by the browser, has the rows the page shows."""
    import csv

    from playwright.sync_api import expect

    with browser_page(accept_downloads=True) as page:
        login(page, api_server)
        page.goto(f"{api_server}{APP}quarantine")
        frame = page.frame_locator("iframe")
        rows = frame.locator("table[data-testid='quarantine'] tbody tr")
        expect(rows.first).to_be_visible()
        shown = [
            tuple(rows.nth(i).locator("td").nth(c).inner_text().strip() for c in (0, 1, 2, 4))
            for i in range(rows.count())
        ]
        with page.expect_download() as download:
            frame.locator("[data-testid='export-csv']").click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        with saved.open(encoding="utf-8", newline="") as handle:
            exported = [
                (formula_free(r["phone"]), r["status"], r["error_count"], r["last_error_reason"] or "–")
                for r in csv.DictReader(handle)
            ]
        assert saved.name.endswith(".csv") and len(shown) == 3
        assert exported == shown
