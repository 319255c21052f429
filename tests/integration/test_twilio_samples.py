"""Twilio's own API fixtures, Airbyte's records and Fivetran's export, through load and build."""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
from tests.landing import build_all, run_all, write
from tests.project import SAMPLES
from tests.servers import rows, schema_before

from sms_tracking import pipeline

pytestmark = pytest.mark.integration

T = TypeVar("T")

SOURCES = """sources:
  - {name: twilio_api, provider: twilio, format: twilio_json, path: reports/twilio_api}
  - {name: twilio_fivetran, provider: twilio, format: twilio_csv, path: reports/twilio_fivetran}
"""


def sids() -> list[tuple[str, str]]:
    """(sid, date_sent) of every outbound message of the three sample files."""
    found: dict[str, str] = {}
    for line in (SAMPLES / "twilio_api_examples" / "messages.jsonl").read_text().splitlines():
        message = json.loads(line)["message"]
        if message["direction"] != "inbound":
            found.setdefault(message["sid"], "2015-07-30T20:12:31Z")
    for line in (SAMPLES / "airbyte_source_twilio" / "messages.jsonl").read_text().splitlines():
        found.setdefault(json.loads(line)["data"]["sid"], "2023-02-14T14:03:12Z")
    with (SAMPLES / "fivetran_twilio_seeds" / "twilio_message_data.csv").open() as handle:
        for row in csv.DictReader(handle):
            found.setdefault(row["id"], "2023-05-09T23:17:40Z")
    return sorted(found.items())


@pytest.fixture
def landing(make_landing: Callable[..., Path]) -> Path:
    root = make_landing(sources=SOURCES)
    (root / "reports" / "twilio_api").mkdir(parents=True)
    (root / "reports" / "twilio_fivetran").mkdir(parents=True)
    (root / "sends").mkdir()
    shutil.copy(SAMPLES / "twilio_api_examples" / "messages.jsonl", root / "reports" / "twilio_api" / "fixtures.jsonl")
    shutil.copy(SAMPLES / "airbyte_source_twilio" / "messages.jsonl", root / "reports" / "twilio_api" / "airbyte.jsonl")
    shutil.copy(
        SAMPLES / "fivetran_twilio_seeds" / "twilio_message_data.csv",
        root / "reports" / "twilio_fivetran" / "message.csv",
    )
    lines = ["delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at,segments"]
    lines += [f"T1,r{i},+14155552345,twilio,{sid},{sent},1" for i, (sid, sent) in enumerate(sids())]
    (root / "sends" / "sends.csv").write_text("\n".join(lines) + "\n")
    return root


def test_twilio_samples_give_the_statuses_their_sources_show(dsn: str, landing: Path) -> None:
    for result in run_all(dsn, "samples", ("campaign", "twilio_api", "twilio_fivetran")):
        assert result["rows_rejected"] == 0, result
    with psycopg.connect(dsn) as conn:
        log = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT provider_message_id, status, failure_type, failure_reason, raw_status, price "
                "FROM sms_tracking.delivery_log"
            )
        }
        inbound = conn.execute(
            "SELECT provider_message_id, phone_e164, price, price_unit, error_code FROM sms_tracking.inbound_message"
        ).fetchall()
    # SMb7c0...: sent with 30007, then canceled an hour later: the final status wins, and a cancelled message
    # is Adobe's Delivery cancelled: no failure type or reason (decision 11).
    assert log["SMb7c0a2ce80504485a6f653a7110836f5"][:4] == ("cancelled", None, None, "canceled")
    # Fivetran's ten rows are all delivered, with their price as a cost.
    fivetran = [v for k, v in log.items() if v[3] == "delivered"]
    assert len(fivetran) == 10 and {float(v[4]) for v in fivetran} == {0.0158}
    # Sent, queued and scheduled are intermediate: the message is still pending.
    assert log["SMded05904ccb347238880ca9264e8fe1c"][0] == "pending"
    assert all(v[0] == "pending" for k, v in log.items() if k.startswith("MMfba") or v[3] in ("sent", "scheduled"))
    # The inbound MMS of the fixtures is stored as an inbound message, not as a report.
    assert [row[0][:5] for row in inbound] == ["MMc26"]
    # It keeps its price (Twilio writes the cost negative) and its error code, so inbound spend is counted.
    assert [(str(row[2]), row[3], row[4]) for row in inbound] == [("0.00750", "USD", "30004")]


def test_a_cancelled_message_is_delivery_cancelled_not_an_error(dsn: str, landing: Path) -> None:
    """Adobe's delivery log: Delivery cancelled is a status of its own, neither Failed nor in Errors, and
    a cancelled message never quarantines its number (decision 11)."""
    run_all(dsn, "samples", ("campaign", "twilio_api", "twilio_fivetran"))
    sid = "SMb7c0a2ce80504485a6f653a7110836f5"  # a cancelled message of T1
    ((sent, delivered, failed, pending, cancelled, processed, success, typed),) = rows(
        dsn,
        "SELECT sent, delivered, failed, pending, cancelled, processed, success, hard + soft + ignored"
        " FROM sms_tracking.delivery_summary WHERE delivery_id = 'T1'",
    )
    assert cancelled >= 1 and sent == delivered + failed + pending + cancelled
    assert processed == success + failed == sent - cancelled
    assert typed == failed
    log = "SELECT count(*) FILTER (WHERE status = 'cancelled'), count(*) FILTER (WHERE status = 'failed')"
    assert rows(dsn, log + " FROM sms_tracking.delivery_log WHERE delivery_id = 'T1'") == [(cancelled, failed)]
    failures = "SELECT coalesce(sum(messages), 0) FROM sms_tracking.delivery_failure_summary WHERE delivery_id = 'T1'"
    assert rows(dsn, failures) == [(failed,)]
    bi = "SELECT status, status_label FROM sms_tracking_bi.delivery_log WHERE provider_message_id = %s"
    assert rows(dsn, bi, sid) == [("cancelled", "Delivery cancelled")]
    assert rows(dsn, "SELECT sum(cancelled), sum(failed) FROM sms_tracking_bi.daily_provider") == [(cancelled, failed)]
    assert rows(dsn, "SELECT count(*) FROM sms_tracking.quarantine_event WHERE provider_message_id = %s", sid) == [(0,)]


def test_the_migration_makes_existing_cancellations_delivery_cancelled(dsn: str, tmp_path: Path) -> None:
    """Before 0025 cancellations were failures, Ignored / Error ignored: their seed and auto rows become
    outcome cancelled and their messages are re-queued for the next build; other rows are left alone."""
    from sms_tracking import db

    with schema_before(dsn, tmp_path, "0025") as conn:
        conn.execute(
            """INSERT INTO sms_tracking.qualification
                   (provider, raw_status, error_code, outcome, is_final, failure_type, failure_reason, origin)
               VALUES ('twilio', 'canceled', '*', 'failed', true, 'Ignored', 'Error ignored', 'seed'),
                      ('twilio', 'canceled', '30007', 'failed', true, 'Ignored', 'Error ignored', 'auto'),
                      ('sinch', 'Aborted', '*', 'failed', true, 'Ignored', 'Error ignored', 'seed'),
                      ('twilio', 'undelivered', '30005', 'failed', true, 'Hard', 'User unknown', 'seed')"""
        )
        conn.execute(
            """INSERT INTO sms_tracking.delivery_log
                   (provider, provider_message_id, delivery_id, recipient_id, status, is_final, failure_type,
                    failure_reason, raw_status, submitted_at, report_count, segments)
               VALUES ('twilio', 'SMc', 'D1', 'r1', 'failed', true, 'Ignored', 'Error ignored', 'canceled',
                       now(), 1, 1),
                      ('twilio', 'SMu', 'D1', 'r2', 'failed', true, 'Hard', 'User unknown', 'undelivered',
                       now(), 1, 1)"""
        )
    with db.connect(dsn) as conn:
        assert "0025_delivery_cancelled" in db.migrate(conn)
        qualified = conn.execute(
            "SELECT provider, raw_status, error_code, outcome, failure_type, failure_reason"
            " FROM sms_tracking.qualification WHERE origin IN ('seed', 'auto')"
            " AND raw_status IN ('canceled', 'Aborted', 'undelivered') AND error_code IN ('*', '30007', '30005')"
            " ORDER BY 1, 2, 3"
        ).fetchall()
        queued = conn.execute("SELECT provider_message_id FROM sms_tracking.pending_message").fetchall()
    assert qualified == [
        ("sinch", "Aborted", "*", "cancelled", None, None),
        ("twilio", "canceled", "*", "cancelled", None, None),
        ("twilio", "canceled", "30007", "cancelled", None, None),
        ("twilio", "undelivered", "30005", "failed", "Hard", "User unknown"),
    ]
    assert queued == [("SMc",)]


# -- The provider's log as the send log (sources.yaml send_log; issue 17 point 10) -----------------------------

LOG_SOURCES = """sources:
  - {name: twilio_api, provider: twilio, format: twilio_json, path: reports/twilio_api, send_log: true}
  - {name: twilio_fivetran, provider: twilio, format: twilio_csv, path: reports/twilio_fivetran, send_log: true}
"""
FINAL = {"delivered": "delivered", "undelivered": "failed", "failed": "failed", "canceled": "cancelled"}
"""Twilio's final statuses and the delivery-log status each gives (docs/qualification.md)."""


def _utc(value: str) -> datetime:
    """A Twilio date as the three samples write it (RFC 2822, ISO-8601, Fivetran's ``... UTC``)."""
    if value.endswith(" UTC"):
        return datetime.fromisoformat(value.removesuffix(" UTC")).replace(tzinfo=UTC)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return parsedate_to_datetime(value).astimezone(UTC)


def sample_messages() -> dict[str, list[dict[str, Any]]]:
    """Every outbound message of the three sample files with all its lines (API field names)."""
    lines: dict[str, list[dict[str, Any]]] = {}
    for line in (SAMPLES / "twilio_api_examples" / "messages.jsonl").read_text().splitlines():
        message = json.loads(line)["message"]
        lines.setdefault(message["sid"], []).append(message)
    for line in (SAMPLES / "airbyte_source_twilio" / "messages.jsonl").read_text().splitlines():
        message = json.loads(line)["data"]
        lines.setdefault(message["sid"], []).append(message)
    with (SAMPLES / "fivetran_twilio_seeds" / "twilio_message_data.csv").open() as handle:
        for row in csv.DictReader(handle):
            message = {key: value or None for key, value in row.items()}
            message.update(sid=row["id"], date_created=row["created_at"])
            lines.setdefault(row["id"], []).append(message)
    return {sid: found for sid, found in lines.items() if all(m["direction"] != "inbound" for m in found)}


def expected_deliveries() -> dict[tuple[str | None, str], dict[str, Any]]:
    """Per (sender, UTC day): the messages' count, statuses, cost and first submit, computed from the files.

    A message belongs to the sender and day of its earliest line that names a sender (Twilio writes no
    ``from`` on a message not sent yet); its status is its final status if a line has one; its price the
    one its lines give.
    """
    found: dict[tuple[str | None, str], dict[str, Any]] = {}
    for lines in sample_messages().values():
        with_sender = [m for m in lines if m.get("from")] or lines
        submitted = min(_utc(m.get("date_sent") or m["date_created"]) for m in with_sender)
        first = min(with_sender, key=lambda m: _utc(m.get("date_sent") or m["date_created"]))
        statuses = {FINAL[m["status"]] for m in lines if m["status"] in FINAL}
        assert len(statuses) <= 1
        prices = {abs(Decimal(str(m["price"]))) for m in lines if m.get("price") not in (None, "")}
        assert len(prices) <= 1
        kpis = found.setdefault(
            (first.get("from"), submitted.date().isoformat()),
            {
                "sent": 0,
                "delivered": 0,
                "failed": 0,
                "pending": 0,
                "cancelled": 0,
                "cost": None,
                "first_submit_at": submitted,
            },
        )
        kpis["sent"] += 1
        kpis[statuses.pop() if statuses else "pending"] += 1
        if prices:
            kpis["cost"] = (kpis["cost"] or 0) + prices.pop()
        kpis["first_submit_at"] = min(kpis["first_submit_at"], submitted)
    return found


def test_the_providers_log_alone_gives_every_kpi(dsn: str, make_landing: Callable[..., Path]) -> None:
    from sms_tracking import quality

    root = make_landing(sources=LOG_SOURCES)
    for sample, target in (
        ("twilio_api_examples/messages.jsonl", "twilio_api/fixtures.jsonl"),
        ("airbyte_source_twilio/messages.jsonl", "twilio_api/airbyte.jsonl"),
        ("fivetran_twilio_seeds/twilio_message_data.csv", "twilio_fivetran/message.csv"),
    ):
        (root / "reports" / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / sample, root / "reports" / target)

    for result in run_all(dsn, "log", ("campaign", "twilio_api", "twilio_fivetran")):
        # The derived send log is not counted as the object's rows: read = loaded + duplicate + rejected.
        assert result["rows_rejected"] == 0 and result["rows_read"] == (
            result["rows_loaded"] + result["rows_duplicate"]
        ), result
    summary = quality.validate_run("log", dsn=dsn, docs=False)
    assert summary["failed_critical"] == [], summary

    expected = expected_deliveries()
    deliveries = rows(
        dsn,
        "SELECT d.sender, d.created_at, s.sent, s.delivered, s.failed, s.pending, s.cancelled, s.cost,"
        "       s.first_submit_at,"
        "       s.initial_population, s.excluded, s.to_deliver"
        "  FROM sms_tracking.delivery d JOIN sms_tracking.delivery_summary s USING (delivery_id)",
    )
    orphans = (
        "SELECT count(*) FROM sms_tracking.report r WHERE NOT EXISTS (SELECT FROM sms_tracking.message m"
        " WHERE (m.provider, m.provider_message_id) = (r.provider, r.provider_message_id))"
    )
    assert rows(dsn, orphans) == [(0,)]
    ((targets,),) = rows(dsn, "SELECT count(DISTINCT (delivery_id, recipient_id)) FROM sms_tracking.message")
    got = {}
    for row in deliveries:
        sender, created_at, sent, delivered, failed, pending, cancelled, cost, first_submit = row[:9]
        population, excluded, to_deliver = row[9:]
        # The delivery is created at its first message's submit time, whatever file came first.
        assert created_at == first_submit
        assert excluded == 0 and to_deliver == population == sent
        got[(sender, created_at.astimezone(UTC).date().isoformat())] = {
            "sent": sent,
            "delivered": delivered,
            "failed": failed,
            "pending": pending,
            "cancelled": cancelled,
            "cost": cost,
            "first_submit_at": first_submit,
        }
    assert got == expected
    assert sum(kpis["sent"] for kpis in expected.values()) == len(sample_messages()) == 21
    # Each message is its own recipient (the provider knows no profile): the population is what was sent.
    assert sum(row[9] for row in deliveries) == targets == 21
    assert "message.recipient_sent_once" not in str(summary["failed_warning"])


def _in_both_orders(
    dsn: str, objects: list[tuple[str, Path]], read: Callable[[str], T], *, build_each: bool = False
) -> list[T]:
    """``read`` of the database after loading the objects (source, path) in the given order, then in reverse,
    each order in a database of its own; built once after the loads, or after each load with ``build_each``."""
    base, template = dsn.rsplit("/", 1)
    found = []
    for k, batch in enumerate((objects, objects[::-1])):
        name = f"{template}_{k}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")  # type: ignore[arg-type]
        try:
            for source, path in batch:
                pipeline.load(source, str(path), dsn=f"{base}/{name}")
                if build_each:
                    build_all(f"{base}/{name}", "log")
            if not build_each:
                build_all(f"{base}/{name}", "log")
            found.append(read(f"{base}/{name}"))
        finally:
            with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
    return found


def test_the_providers_log_gives_the_same_tables_in_any_load_order(dsn: str, make_landing: Callable[..., Path]) -> None:
    """Each line of Twilio's fixtures in a file of its own (a message's lines: sent with a sender, then
    scheduled or canceled without one, earlier), loaded in both orders: the same deliveries, created at the
    same time, the same messages in them, the same KPIs."""
    from tests.integration.test_same_input import dump

    root = make_landing(sources=LOG_SOURCES)
    lines = (SAMPLES / "twilio_api_examples" / "messages.jsonl").read_text().splitlines()
    for n, line in enumerate(lines):
        write(root, f"reports/twilio_api/{n:02d}.jsonl", line + "\n")
    names = sorted(path.name for path in (root / "reports" / "twilio_api").iterdir())
    dumps = _in_both_orders(dsn, [("twilio_api", root / "reports" / "twilio_api" / name) for name in names], dump)
    for table in dumps[0]:
        assert dumps[1][table] == dumps[0][table], f"{table} differs with the files loaded in reverse"
    messages = {row["provider_message_id"]: row for row in map(json.loads, dumps[0]["message"])}
    # SMb7c0's canceled line has no sender and the earlier time: the message stays with its sender's delivery.
    assert messages["SMb7c0a2ce80504485a6f653a7110836f5"]["delivery_id"] == "twilio_api:+12019235161:2019-05-24"
    assert messages["SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]["delivery_id"] == "twilio_api:+14155552345:2015-07-30"
    deliveries = {row["delivery_id"]: row for row in map(json.loads, dumps[0]["delivery"])}
    assert deliveries["twilio_api:+12019235161:2019-05-24"]["created_at"] == "2019-05-24T17:18:28+00:00"


def test_a_configured_field_gives_one_delivery_per_value_and_day(dsn: str, make_landing: Callable[..., Path]) -> None:
    """send_log_field: messaging_service_sid groups Twilio's fixtures by Messaging Service, not by sender."""
    root = make_landing(
        sources="sources:\n  - {name: twilio_api, provider: twilio, format: twilio_json,"
        " path: reports/twilio_api, send_log: true, send_log_field: messaging_service_sid}\n"
    )
    write(root, "reports/twilio_api/fixtures.jsonl", (SAMPLES / "twilio_api_examples" / "messages.jsonl").read_text())
    run_all(dsn, "field", ("twilio_api",))

    messages: dict[str, list[dict[str, Any]]] = {}
    for line in (SAMPLES / "twilio_api_examples" / "messages.jsonl").read_text().splitlines():
        message = json.loads(line)["message"]
        if message["direction"] != "inbound":
            messages.setdefault(message["sid"], []).append(message)
    expected: dict[str, int] = {}
    for lines in messages.values():
        keyed = [m for m in lines if m.get("messaging_service_sid")] or lines
        first = min(keyed, key=lambda m: _utc(m.get("date_sent") or m["date_created"]))
        day = _utc(first.get("date_sent") or first["date_created"]).date().isoformat()
        key = f"twilio_api:{first.get('messaging_service_sid') or ''}:{day}"
        expected[key] = expected.get(key, 0) + 1
    with psycopg.connect(dsn) as conn:
        got = dict(conn.execute("SELECT delivery_id, count(*) FROM sms_tracking.message GROUP BY 1").fetchall())
        senders = conn.execute("SELECT DISTINCT sender FROM sms_tracking.delivery").fetchall()
    assert got == expected and len(got) >= 2
    assert senders == [(None,)]


HOOK_SOURCES = """sources:
  - {name: twilio_hook, provider: twilio, format: twilio_json, path: reports/twilio_hook}
  - {name: twilio_api, provider: twilio, format: twilio_json, path: reports/twilio_api, send_log: true}
"""


def _sm1(**fields: Any) -> str:
    """Message SMaaaa of Twilio's fixtures, delivered (one line, its fields changed as given)."""
    line = json.loads((SAMPLES / "twilio_api_examples" / "messages.jsonl").read_text().splitlines()[0])
    line["message"].update(status="delivered", **fields)
    return json.dumps(line) + "\n"


@pytest.mark.parametrize(
    ("files", "delivery"),
    [
        # A webhook stores the report first: its message is an orphan until the message log, whose copy of
        # the report is then a duplicate, writes the message; it is built all the same.
        (
            {"reports/twilio_hook/hook.jsonl": ("twilio_hook", {}), "reports/twilio_api/log.jsonl": ("twilio_api", {})},
            "twilio_api:+14155552345:2015-07-30",
        ),
        # The log's later copy names the sender its first one lacked: the message moves to the sender's
        # delivery, and its log row with it.
        (
            {
                "reports/twilio_api/a.jsonl": ("twilio_api", {"from": None}),
                "reports/twilio_api/b.jsonl": ("twilio_api", {}),
            },
            "twilio_api:+14155552345:2015-07-30",
        ),
    ],
    ids=["orphan_then_log", "log_moves_message"],
)
def test_a_message_log_of_stored_reports_still_builds_its_messages(
    dsn: str, make_landing: Callable[..., Path], files: dict[str, tuple[str, dict[str, Any]]], delivery: str
) -> None:
    """A send-log object whose reports are all stored already (duplicates) still queues the messages it
    writes: the same delivery log whatever order the objects arrive and are built in (docs/reliability.md)."""
    root = make_landing(sources=HOOK_SOURCES)
    arrival = datetime(2026, 5, 4, 9, tzinfo=UTC).timestamp()
    for n, (relative, (_, fields)) in enumerate(files.items()):
        path = write(root, relative, _sm1(**fields))
        os.utime(path, (arrival + 60 * n, arrival + 60 * n))  # the first file arrives first
    # Each load is built before the next: the first object's build takes its queued message off the queue.
    log = "SELECT provider_message_id, delivery_id, status, report_count FROM sms_tracking.delivery_log"
    first, reverse = _in_both_orders(
        dsn,
        [(source, root / relative) for relative, (source, _) in files.items()],
        lambda database: rows(database, log),
        build_each=True,
    )
    assert first == [("SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", delivery, "delivered", 1)]
    assert reverse == first
