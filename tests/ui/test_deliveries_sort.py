"""Sorted pages of the deliveries list against the same order computed here over every delivery.

The list reads a page's keys first, from the sort's index when it has one, and pages sorted by success
rate from the summary's rate index (deliveries_by_success_rate.sql) until they reach the deliveries
without a rate. The data has what those paths must get right: ties on every key (broken by the id),
names that differ only by case, rates equal once rounded to 4 places (1/3 and 3333/10000), deliveries
without a summary or with nothing sent (no rate: last in both directions), proofs, and summaries
of deliveries that do not exist.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import psycopg
import pytest

from sms_tracking.ui.params import DELIVERY_SORTS

DELIVERIES = 240
NAMES = ("alpha", "Alpha", "ALPHA", "beta", "Beta", "delta", "gamma", "GAMMA")
"""Letters only: lower() and the order of the lowered names are the same in any collation."""
SENT_SUCCESS = ((3, 1), (10000, 3333), (30000, 10001), (4, 2), (2, 1), (100, 50), (7, 7), (9, 0), (6, 5))


def _rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(20260513)
    start = datetime(2026, 5, 1, tzinfo=UTC)
    deliveries, summaries = [], []
    for i in range(DELIVERIES):
        delivery = {
            "delivery_id": f"D{i:04d}",
            "name": rng.choice(NAMES),
            "sender": rng.choice((None, "SHOP", "INFO")),
            "provider": rng.choice(("smpp", "twilio", "sinch")),
            "created_at": start + timedelta(hours=rng.randrange(40)),
            "is_proof": i % 17 == 0,
        }
        deliveries.append(delivery)
        kind = rng.random()
        if kind < 0.1:
            continue  # loaded, not built yet: no summary
        sent, success = (0, 0) if kind < 0.2 else rng.choice(SENT_SUCCESS)
        pending = min(success, rng.choice((0, 0, 1)))
        cancelled = rng.choice((0, 0, 1)) if sent > success else 0
        summaries.append(
            {
                "delivery_id": delivery["delivery_id"],
                "is_proof": delivery["is_proof"],
                "sent": sent,
                "success": success,
                "pending": pending,
                "delivered": success - pending,
                "failed": sent - success - cancelled,
                "cancelled": cancelled,
                "processed": sent - cancelled,
                "to_deliver": sent + rng.choice((0, 0, 3)),
            }
        )
    for i in range(3):  # summaries of deliveries that do not exist: never listed
        summaries.append(
            {
                "delivery_id": f"GONE{i}",
                "is_proof": False,
                "sent": 1,
                "success": 1,
                "pending": 0,
                "delivered": 1,
                "failed": 0,
                "cancelled": 0,
                "processed": 1,
                "to_deliver": 1,
            }
        )
    return deliveries, summaries


@pytest.fixture(scope="module")
def sorted_dsn(postgres_server: str, template_dsn: str) -> Iterator[str]:
    """A migrated database with the deliveries of ``_rows`` (module-wide, read-only)."""
    name = f"sms_ui_sorts_{os.getpid()}"
    template = template_dsn.rsplit("/", 1)[-1]
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")  # type: ignore[arg-type]
    dsn = template_dsn.rsplit("/", 1)[0] + "/" + name
    deliveries, summaries = _rows()
    with psycopg.connect(dsn) as conn:
        object_id = conn.execute(
            """INSERT INTO sms_tracking.source_object
                   (source, kind, uri, checksum, size_bytes, status, started_at, finished_at)
               VALUES ('test', 'deliveries', 'sorts.csv', 'x', 1, 'loaded', now(), now()) RETURNING object_id"""
        ).fetchone()[0]  # type: ignore[index]
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO sms_tracking.delivery
                       (delivery_id, name, sender, content, provider, created_at, is_proof, object_id)
                   VALUES (%(delivery_id)s, %(name)s, %(sender)s, 'Hello', %(provider)s, %(created_at)s,
                           %(is_proof)s, %(object_id)s)""",
                [{**d, "object_id": object_id} for d in deliveries],
            )
            cur.executemany(
                """INSERT INTO sms_tracking.delivery_summary
                       (delivery_id, is_proof, sent, delivered, failed, pending, success, hard, soft, ignored,
                        segments, refreshed_at, cancelled, processed, to_deliver)
                   VALUES (%(delivery_id)s, %(is_proof)s, %(sent)s, %(delivered)s, %(failed)s, %(pending)s,
                           %(success)s, 0, 0, 0, 0, now(), %(cancelled)s, %(processed)s, %(to_deliver)s)""",
                summaries,
            )
        conn.execute("ANALYZE sms_tracking.delivery")
        conn.execute("ANALYZE sms_tracking.delivery_summary")
    yield dsn
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


def _rate(summary: dict[str, Any] | None) -> Decimal | None:
    """round(success / sent, 6), half away from zero, as sms_tracking.success_rate computes it."""
    if summary is None or summary["sent"] == 0:
        return None
    scaled = Fraction(summary["success"], summary["sent"]) * 1_000_000
    return Decimal(int(scaled + Fraction(1, 2))) / 1_000_000


def _listed() -> list[dict[str, Any]]:
    """The rows of delivery_list, computed from the inserted rows."""
    deliveries, summaries = _rows()
    by_id = {s["delivery_id"]: s for s in summaries}
    rows = []
    for d in deliveries:
        s = by_id.get(d["delivery_id"])
        state = "not_sent" if s is None or s["sent"] == 0 else "in_progress" if s["pending"] > 0 else "finished"
        rows.append(
            {
                **d,
                "sent": s["sent"] if s else 0,
                "success": s["success"] if s else 0,
                "failed": s["failed"] if s else 0,
                "success_rate": _rate(s),
                "state": state,
                **{k: s[k] if s else 0 for k in ("to_deliver", "processed")},
            }
        )
    return rows


def _ordered(rows: list[dict[str, Any]], sort: str, direction: str) -> list[str]:
    """The order of the list: the key in the direction, nulls last either way, then the id the same way."""
    key = (lambda r: r["name"].lower()) if sort == "name" else (lambda r: r[sort])
    present = sorted(
        (r for r in rows if key(r) is not None), key=lambda r: (key(r), r["delivery_id"]), reverse=direction == "desc"
    )
    absent = sorted((r for r in rows if key(r) is None), key=lambda r: r["delivery_id"], reverse=direction == "desc")
    return [r["delivery_id"] for r in present + absent]


def _page(client: Any, **params: Any) -> dict[str, Any]:
    response = client.get("/api/deliveries", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("sort", list(DELIVERY_SORTS))
def test_every_sorted_page_is_the_slice_of_the_full_order(
    sorted_dsn: str, client_for: Any, monkeypatch: pytest.MonkeyPatch, sort: str, direction: str
) -> None:
    monkeypatch.setenv("SMS_TRACKING_DSN", sorted_dsn)
    client = client_for("viewer")
    expected = _ordered([r for r in _listed() if not r["is_proof"]], sort, direction)
    for limit, offset in (
        (50, 0),
        (50, 50),
        (7, 100),
        (50, 180),
        (200, 0),
        (50, len(expected) - 10),
        (5, len(expected)),
        (1, len(expected) - 1),
    ):
        page = _page(client, sort=sort, dir=direction, limit=limit, offset=offset)
        assert [d["delivery_id"] for d in page["items"]] == expected[offset : offset + limit], (limit, offset)
        assert page["total_entries"] == len(expected)
    whole = (
        _page(client, sort=sort, dir=direction, limit=200)["items"]
        + _page(client, sort=sort, dir=direction, limit=200, offset=200)["items"]
    )
    assert [d["delivery_id"] for d in whole] == expected


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_pages_sorted_by_success_rate_across_the_deliveries_without_a_rate(
    sorted_dsn: str, client_for: Any, monkeypatch: pytest.MonkeyPatch, direction: str
) -> None:
    """Every page boundary around the last delivery with a rate: read from the rate's index while the
    page is full of rated deliveries, by the general query once it reaches the others."""
    monkeypatch.setenv("SMS_TRACKING_DSN", sorted_dsn)
    client = client_for("viewer")
    rows = [r for r in _listed() if not r["is_proof"]]
    expected = _ordered(rows, "success_rate", direction)
    rated = sum(1 for r in rows if r["success_rate"] is not None)
    assert 0 < rated < len(expected)
    for limit in (1, 10, 50):
        for offset in sorted(
            {max(0, o) for o in (rated - limit - 1, rated - limit, rated - limit + 1, rated - 1, rated, rated + 1)}
        ):
            page = _page(client, sort="success_rate", dir=direction, limit=limit, offset=offset)
            assert [d["delivery_id"] for d in page["items"]] == expected[offset : offset + limit], (limit, offset)
    rates = {d["delivery_id"]: d["success_rate"] for d in _page(client, sort="success_rate", limit=200)["items"]}
    assert rates == {
        r["delivery_id"]: float(r["success_rate"]) if r["success_rate"] is not None else None
        for r in rows
        if r["delivery_id"] in rates
    }


@pytest.mark.parametrize(
    "filters",
    [
        {"proofs": "true"},
        {"provider": "twilio"},
        {"state": "finished"},
        {"state": "not_sent"},
        {"sender": "SHOP"},
        {"q": "gamma"},
        {"date_from": "2026-05-02"},
        {"q": "D01"},
    ],
)
@pytest.mark.parametrize("sort", ["success_rate", "name", "created_at", "sent"])
def test_filtered_sorted_pages(
    sorted_dsn: str, client_for: Any, monkeypatch: pytest.MonkeyPatch, filters: dict[str, str], sort: str
) -> None:
    monkeypatch.setenv("SMS_TRACKING_DSN", sorted_dsn)
    client = client_for("viewer")
    q = filters.get("q", "").lower()
    rows = [
        r
        for r in _listed()
        if (filters.get("proofs") or not r["is_proof"])
        and all(r[k] == filters[k] for k in ("provider", "state", "sender") if k in filters)
        and (not q or q in r["name"].lower() or q in r["delivery_id"].lower())
        and ("date_from" not in filters or r["created_at"] >= datetime(2026, 5, 2, tzinfo=UTC))
    ]
    assert rows
    for direction in ("asc", "desc"):
        expected = _ordered(rows, sort, direction)
        for limit, offset in ((10, 0), (10, 5), (200, 0), (3, max(0, len(expected) - 2))):
            page = _page(client, sort=sort, dir=direction, limit=limit, offset=offset, **filters)
            assert [d["delivery_id"] for d in page["items"]] == expected[offset : offset + limit], (direction, offset)
