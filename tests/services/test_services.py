"""The path production takes, on Airflow's real services (issue 16): the scheduler starts the ingest runs on
their schedule, their Asset events start the build, the DAG processor parses the DAG files.

A first batch of landing files (the bundled sample) is built; then late reports and a STOP reply land, and
the incremental build moves the summary and the quarantine. What each state must be comes from the same
files run in-process (``tests/landing.py``, what every other test trusts), in a database of its own. The
ingest DAGs run every minute here (the sources file and ``[sms_tracking] campaign_schedule``), an API source
pulls from the fake Twilio on 127.0.0.1, and the cleanup keeps its daily schedule.

The same scenario runs with LocalExecutor and with CeleryExecutor (Debian's Redis, two workers in folders
of their own, sharing only the landing location and the Data Docs: docker-compose.yaml's celery profile);
both end with the in-process run's tables.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.fakes.harness import FAST_RETRIES, watermark
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, TwilioApi, generated_messages
from tests.integration.test_same_input import dump
from tests.landing import build_all, load_all
from tests.servers import rows
from tests.services.harness import (
    Services,
    admin,
    airflow_services,
    database,
    start_worker,
)

from sms_tracking_dev import sample_landing
from sms_tracking_dev.celery_services import celery_settings, redis_server

pytestmark = [pytest.mark.integration, pytest.mark.airflow, pytest.mark.services]

EVERY_MINUTE = "*/1 * * * *"
PULL = "twilio_pull"
SOURCES = f"""
sources:
  - name: smpp_main
    provider: smpp
    format: smpp
    path: reports/smpp_main
    tz: Europe/Paris
    schedule: "{EVERY_MINUTE}"
  - name: {PULL}
    provider: twilio
    transport: api
    conn_id: twilio_test
    path: reports/{PULL}
    schedule: "{EVERY_MINUTE}"
    options:
      page_size: 10
      lookback: 2h
      start: "2015-01-01"
"""
FILE_SOURCES = ("campaign", "smpp_main")
BUILD = "sms_tracking_build"
INGEST = ("sms_tracking_ingest_campaign", "sms_tracking_ingest_smpp_main", f"sms_tracking_ingest_{PULL}")
PULLED = [m for m in generated_messages(10, datetime(2026, 5, 4, 9, tzinfo=UTC)) if m["status"] == "delivered"]
"""What the fake Twilio answers: delivered messages no send names (outside the summary, no qualification)."""
LATE_ARRIVAL = datetime(2026, 5, 6, 12, tzinfo=UTC).timestamp()
"""The late files' modification time, the same in every landing folder (a report's arrival is its file's)."""
SETTINGS = {
    "AIRFLOW__SMS_TRACKING__CAMPAIGN_SCHEDULE": EVERY_MINUTE,
    # The cleanup's first run comes at unpause, before or after a build: with the sample's May dates and
    # the default 10 days it would release numbers depending on that race.
    "AIRFLOW__SMS_TRACKING__WITH_ERRORS_RELEASE_DAYS": "3650",
    "AIRFLOW__SMS_TRACKING__MAILBOX_FULL_RELEASE_DAYS": "3650",
    **FAST_RETRIES,
}
FIRST_BATCH_TIMEOUT = 420
LATE_BATCH_TIMEOUT = 300

SUMMARY = (
    "SELECT delivery_id, sent, delivered, failed, pending, success, hard, soft, ignored, segments"
    " FROM sms_tracking.delivery_summary ORDER BY 1"
)
QUARANTINE = "SELECT phone_e164, status, error_count FROM sms_tracking.quarantine ORDER BY 1"


def copy_landing(folder: Path) -> Path:
    """The sample landing copied with its files' times (their arrival)."""
    return Path(shutil.copytree(sample_landing(), folder / "landing"))


def land(root: Path, files: dict[str, str]) -> None:
    """Write each file beside its place, then rename it in: a listing never sees half a file."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.parent / f".{path.name}.part"
        part.write_text(text, encoding="utf-8")
        os.utime(part, (LATE_ARRIVAL, LATE_ARRIVAL))
        part.replace(path)


RUN_KEYS = {"prepared_at", "run_id"}
"""Columns of when and in which run a build prepared a send list: bookkeeping, as in ``test_same_input``."""


def tables(dsn: str, landing: Path) -> dict[str, list[str]]:
    """Every data table (``test_same_input.dump``) without the pulled messages and the runs' bookkeeping,
    landing paths made relative."""
    pulled = [m["sid"] for m in PULLED]
    result = {}
    for table, table_rows in dump(dsn).items():
        kept = [
            json.loads(row.replace(str(landing), "<landing>"))
            for row in table_rows
            if f"/{PULL}/" not in row and not any(sid in row for sid in pulled)
        ]
        result[table] = sorted(
            json.dumps({k: v for k, v in row.items() if k not in RUN_KEYS}, sort_keys=True) for row in kept
        )
    return result


@dataclass
class Expected:
    """The in-process run's states: after the first batch, and after the late files."""

    late_files: dict[str, str]
    late_messages: list[str]
    stop_phone: str
    first_summary: list[tuple]
    first_quarantine: list[tuple]
    summary: list[tuple]
    quarantine: list[tuple]
    tables: dict[str, list[str]]


def late_files(dsn: str) -> tuple[dict[str, str], list[str], str]:
    """Final receipts for three messages still pending after the first batch (two delivered, one user
    unknown: Hard), and a STOP from a number that had a message delivered."""
    pending = [
        mid
        for (mid,) in rows(
            dsn,
            "SELECT provider_message_id FROM sms_tracking.delivery_log WHERE provider = 'smpp'"
            " AND status = 'pending' ORDER BY 1 LIMIT 3",
        )
    ]
    (phone,) = rows(
        dsn,
        "SELECT min(phone_e164) FROM sms_tracking.delivery_log l WHERE provider = 'smpp' AND status = 'delivered'"
        " AND NOT EXISTS (SELECT FROM sms_tracking.quarantine q WHERE q.phone_e164 = l.phone_e164)",
    )[0]
    assert len(pending) == 3 and phone
    receipts = "".join(
        f"id:{mid} sub:002 dlvrd:{'002' if stat == 'DELIVRD' else '000'} submit date:2605041000 "
        f"done date:2605051400 stat:{stat} err:{err} text:Soldes de printemps\n"
        for mid, (stat, err) in zip(pending, [("DELIVRD", "000"), ("DELIVRD", "000"), ("UNDELIV", "005")], strict=True)
    )
    inbound = (
        "provider,provider_message_id,phone,recipient,text,received_at\n"
        f"smpp,,{phone.lstrip('+')},36179,STOP,2026-05-06T09:00:00Z\n"
    )
    return ({"reports/smpp_main/late-receipts.txt": receipts, "inbound/late-inbound.csv": inbound}, pending, phone)


@pytest.fixture(scope="module")
def expected(postgres_server: str, template_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Expected]:
    folder = tmp_path_factory.mktemp("in_process")
    (folder / "sources.yaml").write_text(SOURCES)
    name = f"sms_services_expected_{os.getpid()}"
    admin(postgres_server, f"CREATE DATABASE {name} TEMPLATE {template_dsn.rsplit('/', 1)[-1]}")
    dsn = database(postgres_server, name)
    try:
        with pytest.MonkeyPatch.context() as patch:
            landing = copy_landing(folder)
            for key, value in {
                **SETTINGS,
                "AIRFLOW__SMS_TRACKING__LANDING": str(landing),
                "AIRFLOW__SMS_TRACKING__SOURCES": str(folder / "sources.yaml"),
            }.items():
                patch.setenv(key, value)
            load_all(dsn, FILE_SOURCES)
            build_all(dsn, "first")
            first = rows(dsn, SUMMARY), rows(dsn, QUARANTINE)
            files, messages, phone = late_files(dsn)
            land(landing, files)
            load_all(dsn, FILE_SOURCES)
            build_all(dsn, "late")
            yield Expected(
                files, messages, phone, *first, rows(dsn, SUMMARY), rows(dsn, QUARANTINE), tables(dsn, landing)
            )
    finally:
        admin(postgres_server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


LOCAL_TABLES: dict[str, dict[str, list[str]]] = {}
"""The LocalExecutor test's tables, for the CeleryExecutor test of the same session."""


@dataclass
class Outcome:
    services: Services
    dsn: str
    landing: Path
    twilio: TwilioApi
    seconds: dict[str, float]


@contextmanager
def run_scenario(
    postgres_server: str,
    dsn: str,
    folder: Path,
    expected: Expected,
    executor: str = "LocalExecutor",
    start_workers: Callable[[Services], None] | None = None,
    executor_settings: dict[str, str] | None = None,
) -> Iterator[Outcome]:
    """Start the services on the sample landing, wait for the first build, land the late files, wait for
    the incremental build; the services still run inside the block."""
    (folder / "sources.yaml").write_text(SOURCES)
    landing = copy_landing(folder)
    twilio = TwilioApi(PULLED)
    with twilio.running():
        settings = {
            **SETTINGS,
            "AIRFLOW__SMS_TRACKING__LANDING": str(landing),
            "AIRFLOW__SMS_TRACKING__SOURCES": str(folder / "sources.yaml"),
            "AIRFLOW__SMS_TRACKING__DATA_DOCS": str(folder / "data_docs"),
            "AIRFLOW_CONN_TWILIO_TEST": json.dumps(
                {"conn_type": "http", "host": twilio.url, "login": ACCOUNT_SID, "password": AUTH_TOKEN}
            ),
            **(executor_settings or {}),
        }
        with airflow_services(postgres_server, folder, dsn, settings, executor) as services:
            seconds = {}
            if start_workers is not None:
                start_workers(services)
            seconds["first batch"] = services.wait_until(
                "the first build's summary",
                lambda: rows(dsn, SUMMARY) == expected.first_summary != [],
                FIRST_BATCH_TIMEOUT,
            )
            assert rows(dsn, QUARANTINE) == expected.first_quarantine
            assert rows(dsn, SUMMARY) != expected.summary  # the late files change it
            land(landing, expected.late_files)
            seconds["late files"] = services.wait_until(
                "the incremental build's summary and quarantine",
                lambda: rows(dsn, SUMMARY) == expected.summary and rows(dsn, QUARANTINE) == expected.quarantine,
                LATE_BATCH_TIMEOUT,
            )
            yield Outcome(services, dsn, landing, twilio, seconds)


def assert_scheduled_pipeline(outcome: Outcome, expected: Expected) -> None:
    """Runs started by schedule and Asset events only; the late files loaded and built; nothing failed."""
    services, dsn = outcome.services, outcome.dsn
    runs = services.runs()
    assert {run_type for _, _, run_type, _, _ in runs} <= {"scheduled", "asset_triggered"}, runs
    assert {dag_id for dag_id, _, run_type, state, _ in runs if state == "success"} >= {*INGEST, BUILD}
    assert all(run_type == "asset_triggered" for dag_id, _, run_type, _, _ in runs if dag_id == BUILD)
    assert all(run_type == "scheduled" for dag_id, _, run_type, _, _ in runs if dag_id in INGEST)
    # The late receipts each moved their message; the STOP denylisted its number.
    log = dict(
        rows(
            dsn,
            "SELECT provider_message_id, status FROM sms_tracking.delivery_log WHERE provider_message_id = ANY(%s)",
            expected.late_messages,
        )
    )
    assert log == dict(zip(expected.late_messages, ["delivered", "delivered", "failed"], strict=True))
    assert rows(dsn, "SELECT status FROM sms_tracking.quarantine WHERE phone_e164 = %s", expected.stop_phone) == [
        ("Denylisted",)
    ]
    services.assert_healthy()


def test_local_executor_runs_the_pipeline_on_schedule_and_asset_events(
    postgres_server: str, dsn: str, tmp_path: Path, expected: Expected
) -> None:
    with run_scenario(postgres_server, dsn, tmp_path, expected) as outcome:
        services = outcome.services
        assert_scheduled_pipeline(outcome, expected)
        # The API source: two scheduled runs, the second asked from the first's watermark (less the look-back).
        pull_dag = f"sms_tracking_ingest_{PULL}"

        def pulled_twice() -> bool:
            done = services.query("SELECT count(*) FROM dag_run WHERE dag_id = %s AND state = 'success'", pull_dag)
            return done[0][0] >= 2

        outcome.seconds["second pull"] = services.wait_until("two pull runs", pulled_twice, 150)
        ends = dict(services.query("SELECT data_interval_end, state FROM dag_run WHERE dag_id = %s", pull_dag))
        done = sorted(end for end, state in ends.items() if state == "success")
        # The watermark is the end of the last successful run's window (or of a newer run's, finishing).
        assert watermark(dsn, PULL) in ends and watermark(dsn, PULL) >= done[-1]
        asked = [dict(r.params).get("DateSent>") for r in outcome.twilio.requests]
        assert asked[0] == "2015-01-01" and len(asked) >= 2
        assert set(asked[1:]) <= {(end - timedelta(hours=2)).date().isoformat() for end in ends}
        assert rows(
            dsn,
            "SELECT count(*) FROM sms_tracking.report WHERE provider_message_id = ANY(%s)",
            [m["sid"] for m in PULLED],
        ) == [(len(PULLED),)]
        # The cleanup keeps its daily schedule: its next run is planned.
        ((paused, next_run),) = services.query(
            "SELECT is_paused, next_dagrun_create_after FROM dag WHERE dag_id = 'sms_tracking_cleanup'"
        )
        assert not paused and next_run > datetime.now(UTC)
        services.assert_healthy()
        LOCAL_TABLES["tables"] = tables(dsn, outcome.landing)
        assert LOCAL_TABLES["tables"] == expected.tables
        print(f"LocalExecutor: {outcome.seconds}")


def test_celery_executor_spreads_the_loads_over_two_workers(
    postgres_server: str, dsn: str, tmp_path: Path, expected: Expected
) -> None:
    workers = ("worker-a", "worker-b")

    def start_workers(services: Services) -> None:
        for name in workers:
            start_worker(services, name, tmp_path / name)

    # Redis runs as nobody: its folder must be reachable, the session's (not pytest's private tmp_path).
    with (
        redis_server(Path(tempfile.mkdtemp(prefix="redis-"))) as broker,
        run_scenario(
            postgres_server, dsn, tmp_path, expected, "CeleryExecutor", start_workers, celery_settings(broker)
        ) as outcome,
    ):
        services = outcome.services
        assert_scheduled_pipeline(outcome, expected)
        # Every task ran on a worker, and the mapped loads on both.
        hosts = services.query(
            "SELECT task_id, hostname FROM task_instance WHERE state = 'success' AND operator <> 'EmptyOperator'"
        )
        assert {host for _, host in hosts} == set(workers)
        assert {host for task, host in hosts if task == "load_object"} == set(workers)
        celery_tables = tables(dsn, outcome.landing)
        assert celery_tables == expected.tables
        assert celery_tables == LOCAL_TABLES.get("tables", celery_tables)
        print(f"CeleryExecutor: {outcome.seconds}")
