"""CSV exports: the JSON twin's rows with the same filters, masked for masked viewers, formula-safe, streamed."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from sms_tracking.ui.exports import cell

pytestmark = pytest.mark.integration

# (export path, JSON twin path, where the twin's rows are)
TWINS = [
    ("/export/deliveries.csv", "/api/deliveries", ("items",)),
    (
        "/export/deliveries.csv?proofs=true&sort=name&dir=asc",
        "/api/deliveries?proofs=true&sort=name&dir=asc",
        ("items",),
    ),
    ("/export/deliveries/D1/log.csv", "/api/deliveries/D1/log", ("items",)),
    (
        "/export/deliveries/D1/log.csv?status=failed&sort=done_at&dir=desc",
        "/api/deliveries/D1/log?status=failed&sort=done_at&dir=desc",
        ("items",),
    ),
    ("/export/deliveries/X1/exclusions.csv", "/api/deliveries/X1/exclusions", ("recipients", "items")),
    (
        "/export/deliveries/X1/exclusions.csv?reason=Quarantined",
        "/api/deliveries/X1/exclusions?reason=Quarantined",
        ("recipients", "items"),
    ),
    ("/export/deliveries/D1/tracking.csv", "/api/deliveries/D1/tracking", ("log", "items")),
    ("/export/quarantine.csv", "/api/quarantine", ("items",)),
    ("/export/quarantine.csv?status=Quarantine", "/api/quarantine?status=Quarantine", ("items",)),
    ("/export/qualification.csv?state=to_qualify", "/api/qualification?state=to_qualify", ("items",)),
    ("/export/qualification.csv", "/api/qualification", ("items",)),
]


@pytest.fixture
def extras_ro(extras_template: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SMS_TRACKING_DSN", extras_template)
    return extras_template


def parse(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def as_cells(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, str]]:
    from datetime import datetime

    def one(value: Any) -> str:
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, str):
            try:
                return cell(datetime.fromisoformat(value))
            except ValueError:
                return cell(value)
        return cell(value)

    return [{c: one(r.get(c)) for c in columns} for r in rows]


@pytest.mark.parametrize("role", ["viewer", "admin"])
@pytest.mark.parametrize(("export", "twin", "where"), TWINS)
def test_each_export_has_its_json_twins_rows(
    extras_ro: str, client_for: Any, role: str, export: str, twin: str, where: tuple[str, ...]
) -> None:
    client = client_for(role)
    exported = parse(client.get(export))
    shown: list[dict[str, Any]] = []
    while True:  # every page of the twin
        page: Any = client.get(twin + ("&" if "?" in twin else "?") + f"limit=200&offset={len(shown)}").json()
        for key in where:
            page = page[key]
        shown += page
        if len(page) < 200:
            break
    columns = list(exported[0]) if exported else []
    assert exported == as_cells(shown, columns)
    assert exported, export


def test_quality_export_lists_the_latest_checks(extras_ro: str, client_for: Any) -> None:
    exported = parse(client_for("viewer").get("/export/quality.csv"))
    shown = [v for t in client_for("viewer").get("/api/quality").json()["tables"] for v in t["results"]]
    assert [r["expectation"] for r in exported] == [v["expectation"] for v in shown]
    assert "•" in next(r["unexpected_sample"] for r in exported if r["unexpected_sample"])


def test_exports_are_masked_for_masked_viewers(extras_ro: str, client_for: Any) -> None:
    viewer = client_for("viewer").get("/export/deliveries/D1/log.csv").text
    admin = client_for("admin").get("/export/deliveries/D1/log.csv").text
    assert "+33612345678" not in viewer and "'+336••••••78" in viewer
    assert "'+33612345678" in admin
    assert "+3361234567" not in client_for("viewer").get("/export/quarantine.csv").text
    assert client_for("viewer").get("/export/quarantine.csv?sort=phone").status_code == 422


def test_exports_name_their_file_and_carry_the_headers(extras_ro: str, client_for: Any) -> None:
    response = client_for("viewer").get("/export/deliveries/D1/log.csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="sms-tracking-delivery-log-D1-') and disposition.endswith(
        '.csv"'
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client_for("viewer").get("/export/deliveries/NOPE/log.csv").status_code == 404
    assert client_for("viewer").get("/export/deliveries/D1/log.csv?status=nope").status_code == 422
    assert client_for(None).get("/export/quarantine.csv").status_code == 401


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+336", "'+336"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("ok", "ok"),
        (None, ""),
        (3, "3"),
    ],
)
def test_cells_a_spreadsheet_would_evaluate_are_prefixed(value: Any, expected: str) -> None:
    assert cell(value) == expected


def test_formula_payloads_in_data_are_exported_inert(extras_dsn: str, client_for: Any) -> None:
    import psycopg

    with psycopg.connect(extras_dsn) as conn:
        conn.execute("UPDATE sms_tracking.quarantine SET cause = '=HYPERLINK(\"http://evil\")'")
    rows = parse(client_for("admin").get("/export/quarantine.csv"))
    assert {r["cause"] for r in rows} == {'\'=HYPERLINK("http://evil")'}


def test_a_large_delivery_log_exports_in_bounded_memory(extras_dsn: str, client_for: Any) -> None:
    """SMS_TRACKING_EXPORT_ROWS rows (default 200,000; 1,000,000 measured for docs/ui.md) of one delivery's log
    stream out with the Python heap's peak flat: the server-side cursor holds EXPORT_BATCH rows at a time."""
    import os
    import time
    import tracemalloc

    import psycopg

    rows = int(os.environ.get("SMS_TRACKING_EXPORT_ROWS", "200000"))
    with psycopg.connect(extras_dsn) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'sms_tracking' "
                "AND table_name = 'delivery_log' ORDER BY ordinal_position"
            ).fetchall()
        ]
        values = ", ".join("'M' || g" if c == "provider_message_id" else c for c in columns)
        conn.execute(
            f"INSERT INTO sms_tracking.delivery_log ({', '.join(columns)}) "
            f"SELECT {values} FROM sms_tracking.delivery_log, generate_series(1, %s) g "
            "WHERE delivery_id = 'D1' AND provider_message_id = 'A2'",
            (rows,),
        )
        conn.execute("ANALYZE sms_tracking.delivery_log")
    client = client_for("viewer")
    tracemalloc.start()
    started = time.monotonic()
    size = lines = 0
    with client.stream("GET", "/export/deliveries/D1/log.csv") as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\r\n")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"\nexport of {lines - 1:,} log rows: {size / 1e6:.1f} MB CSV in {time.monotonic() - started:.1f} s, "
        f"Python heap peak {peak / 1e6:.1f} MB"
    )
    assert lines - 1 == rows + 4
    assert peak < 40e6, peak


@pytest.mark.parametrize(
    "page",
    [
        "/?proofs=true",
        "/deliveries/D1/log?status=failed&offset=0",
        "/deliveries/X1/exclusions?reason=Quarantined",
        "/deliveries/D1/tracking",
        "/quarantine?status=Quarantine",
        "/qualification?state=to_qualify",
        "/quality",
    ],
)
def test_each_list_page_links_its_export_with_the_filters(extras_ro: str, client_for: Any, page: str) -> None:
    import re
    from urllib.parse import urljoin

    client = client_for("admin")
    found = re.search(r'href="([^"]+)" download data-testid="export-csv"', client.get(page).text)
    assert found, page
    href = found[1].replace("&amp;", "&")
    assert not href.startswith("/")
    url = urljoin("http://testserver" + page, href)
    query = page.partition("?")[2].replace("&offset=0", "")
    assert url.endswith(".csv" + ("?" + query if query else "")), url
    assert client.get(url).status_code == 200
