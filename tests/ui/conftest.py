"""Fixtures of the UI tests: a tracking database loaded by the real pipeline, and clients per role.

The landing holds the integration test's deliveries plus clicks, an unknown SMPP code, and a
delivery whose every text field is an XSS payload. ``extras_dsn`` adds the tables later migrations
create (exclusions, quarantine, journal, validation results) with a few rows, shaped as announced.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg
import pytest
from fastapi import Request
from tests.landing import run_all, write_all

ROLE_HEADER = "x-test-role"
XSS = '<script>alert("x")</script>'
XSS_ATTR = '"><img src=x onerror=alert(1)>'

DELIVERIES = f"""delivery_id,name,sender,content,provider,created_at,scheduled_at,is_proof
D1,Spring sale,SHOP,Sale today https://shop.example.com/s and https://shop.example.com/stop,smpp,2026-05-04T08:00:00Z,2026-05-04T08:00:00Z,false
D2,Twilio promo,+15550100,Hello €uro fans,twilio,2026-05-04T09:00:00Z,,false
X1,"{XSS.replace('"', '""')}","{XSS_ATTR.replace('"', '""')}","Hi {XSS.replace('"', '""')} https://evil.example/""><script>alert(2)</script>",smpp,2026-05-05T10:00:00Z,,false
P1,Proof run,SHOP,Proof text,smpp,2026-05-03T10:00:00Z,,true
"""
SENDS = """delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at,segments
D1,r1,+33612345678,smpp,A1,2026-05-04T08:00:00Z,1
D1,r2,+33612345679,smpp,A2,2026-05-04T08:00:01Z,1
D1,r3,+33612345680,smpp,A3,2026-05-04T08:00:02Z,2
D1,r4,+33612345681,smpp,A4,2026-05-04T08:00:03Z,1
D2,r5,+15550199,twilio,SM1,2026-05-04T09:00:00Z,1
D2,r6,+15550198,twilio,SM2,2026-05-04T09:00:00Z,1
X1,x1,+33699999999,smpp,B1,2026-05-05T10:00:00Z,1
"""
TARGETS = """delivery_id,recipient_id,phone
D1,r1,+33612345678
D1,r2,+33612345679
D1,r3,+33612345680
D1,r4,+33612345681
D1,r9,
"""
SMPP = """id:A1 sub:001 dlvrd:001 submit date:2605041000 done date:2605041012 stat:DELIVRD err:000 text:Sale today
id:A1 sub:001 dlvrd:000 submit date:2605041000 done date:2605041001 stat:ACCEPTD err:000 text:Sale today
id:A2 sub:001 dlvrd:000 submit date:2605041000 done date:2605041005 stat:UNDELIV err:005 text:Sale today
id:A3 sub:001 dlvrd:000 submit date:2605041000 done date:2605041002 stat:ENROUTE err:000 text:Sale today
id:A4 sub:001 dlvrd:000 submit date:2605041000 done date:2605041003 stat:UNDELIV err:077 text:Sale today
id:A4 sub:001 dlvrd:001 submit date:2605041000 done date:2605041103 stat:DELIVRD err:000 text:Sale today
id:B1 sub:001 dlvrd:000 submit date:2605051200 done date:2605051201 stat:UNDELIV err:066 text:<script>alert(5)</script>
"""
TWILIO = """MessageSid=SM1&MessageStatus=sent&To=%2B15550199&RawDlrDoneDate=2605040901
MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30005&To=%2B15550199&RawDlrDoneDate=2605040905
MessageSid=SM2&MessageStatus=delivered&To=%2B15550198&RawDlrDoneDate=2605040903
"""
CLICKS = f"""delivery_id,recipient_id,tracking_token,url,clicked_at,user_agent,method
D1,r1,t1,https://shop.example.com/s,2026-05-04T08:20:00Z,Mozilla/5.0 (iPhone),GET
D1,r1,t1,https://shop.example.com/s,2026-05-04T08:25:00Z,Mozilla/5.0 (iPhone),GET
D1,r4,t4,https://shop.example.com/s,2026-05-04T09:10:00Z,Mozilla/5.0 (Android),GET
D1,r4,t4,https://shop.example.com/s,2026-05-04T09:10:01Z,facebookexternalhit/1.1,GET
D1,r2,t2,https://shop.example.com/s,2026-05-04T09:30:00Z,Mozilla/5.0 (Android),HEAD
X1,x1,tx,"https://evil.example/""><script>alert(6)</script>",2026-05-05T10:05:00Z,"{XSS.replace('"', '""')}",GET
"""
OPTIONAL_TABLES = (
    "exclusion",
    "quarantine",
    "quarantine_history",
    "quarantine_event",
    "audit_event",
    "validation_result",
)
"""Tables later migrations added; ``bare_dsn`` drops them to show the pages before those migrations."""
BUILD_SUMMARIES = ("delivery_exclusion_summary", "delivery_failure_summary", "delivery_url_summary", "tracking_log")
"""The build's pre-aggregated tables (migration 0004), emptied in ``extras_template``: the pages then use
their fallbacks; one test fills them."""
OPTIONAL_ROWS = f"""
INSERT INTO sms_tracking.exclusion (delivery_id, recipient_id, phone_raw, phone_e164, reason, prepared_at, run_id)
VALUES ('D1', 'r9', NULL, NULL, 'Address empty', '2026-05-04T07:59:00Z', 'prep-1'),
       ('X1', 'x8', '06 22 22 22 22', '+33622222222', 'Quarantined', '2026-05-05T09:59:00Z', 'prep-2'),
       ('X1', 'x9', '{XSS}', NULL, 'Invalid number', '2026-05-05T09:59:00Z', 'prep-2');
INSERT INTO sms_tracking.quarantine
       (phone_e164, status, error_count, last_error_at, last_error_reason, first_error_at, updated_at, cause)
VALUES ('+33612345679', 'Quarantine', 1, '2026-05-04T08:05:00Z', 'User unknown', '2026-05-04T08:05:00Z',
        '2026-05-04T08:05:00Z', 'User unknown: smpp message A2 of delivery D1'),
       ('+33612345681', 'With errors', 1, '2026-05-04T08:03:00Z', 'Not defined', '2026-05-04T08:03:00Z',
        '2026-05-04T08:03:00Z', 'Not defined: smpp message A4 of delivery D1'),
       ('+15550199', 'Denylisted', 1, '2026-05-04T09:05:00Z', 'Denylisted', '2026-05-04T09:05:00Z',
        '2026-05-04T09:10:00Z', '{XSS}');
INSERT INTO sms_tracking.quarantine_history
       (phone_e164, from_status, to_status, error_count, cause_kind, event_kind, reason, delivery_id, provider,
        provider_message_id, actor, at)
VALUES ('+33612345679', 'Valid', 'Quarantine', 1, 'report', 'hard', 'User unknown', 'D1', 'smpp', 'A2', NULL,
        '2026-05-04T08:05:00Z'),
       ('+15550199', 'Valid', 'Denylisted', 1, 'inbound', 'stop', '{XSS}', NULL, NULL, NULL, NULL,
        '2026-05-04T09:10:00Z');
INSERT INTO sms_tracking.audit_event (delivery_id, level, event, message, details, dag_id, run_id, task_id, at)
VALUES ('D1', 'info', 'preparation', 'Target: 5 recipients, 1 excluded', '{{"excluded": 1}}',
        'sms_tracking_ingest_campaign', 'manual__2026-05-04T08:00:00+00:00', 'load', '2026-05-04T08:00:05Z'),
       ('D1', 'warning', 'sender', 'Sender SHOP is not registered for +1 numbers', NULL, 'sms_tracking_build',
        'scheduled__2026-05-04T09:00:00+00:00', 'summary', '2026-05-04T09:00:05Z'),
       ('D1', 'error', 'qualification', 'Unknown code err:077 for +33612345681', NULL, 'sms_tracking_build',
        'scheduled__2026-05-04T09:00:00+00:00', 'qualify', '2026-05-04T09:00:06Z'),
       ('X1', 'error', '{XSS}', '{XSS}', '{{"x": "</script><script>alert(7)</script>"}}', '{XSS}', '{XSS}',
        '{XSS}', '2026-05-05T10:00:00Z');
INSERT INTO sms_tracking.validation_result
       (run_id, suite, table_name, expectation, expectation_type, column_name, description, success, critical,
        element_count, observed_value, unexpected_count, unexpected_sample, validated_at)
VALUES ('run-1', 'delivery_log', 'delivery_log', 'phone_not_null', 'expect_column_values_to_not_be_null',
        'phone_e164', 'Every message has a number', true, true, 7, '0', 0, NULL, '2026-05-04T10:00:00Z'),
       ('run-1', 'delivery_log', 'delivery_log', 'no_stuck', 'expect_column_values_to_be_null',
        'done_at', 'No message stuck without a final report', false, false, 7, '1', 1,
        '["+33612345680"]', '2026-05-04T10:00:00Z'),
       ('run-1', 'exclusion', 'exclusion', 'reason_known', 'expect_column_values_to_be_in_set',
        'reason', 'Known exclusion causes', NULL, true, NULL, NULL, NULL, NULL, '2026-05-04T10:00:00Z'),
       ('run-0', 'delivery_log', 'delivery_log', 'old', 'expect_column_values_to_not_be_null',
        'phone_e164', 'An older run', false, true, 7, '9', 9, NULL, '2026-05-03T10:00:00Z'),
       ('run-2', 'delivery_log', 'delivery_log', 'phone_not_null', 'expect_column_values_to_not_be_null',
        'phone_e164', 'A later incremental run with nothing new', true, true, 0, '"no rows"', 0, NULL,
        '2026-05-04T11:00:00Z'),
       ('run-1', 'quarantine', 'quarantine', 'status_mix', 'expect_column_distinct_values_to_be_in_set',
        'status', 'Known statuses', true, false, 3, '{{"Quarantine": 1, "With errors": 2}}', 0, NULL,
        '2026-05-04T10:00:00Z');
"""


def _admin(server: str, sql: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _clone(server: str, source_dsn: str, name: str) -> str:
    """A new database copied from ``source_dsn`` (same server), as a URI."""
    template = source_dsn.rsplit("/", 1)[-1]
    _admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _admin(server, f"CREATE DATABASE {name} TEMPLATE {template}")
    return source_dsn.rsplit("/", 1)[0] + "/" + name


def load_landing(dsn: str, landing: Path) -> None:
    """Run the pipeline's loads and build on the landing, as the DAGs do (run id ``ui-test-run``)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__SMS_TRACKING__LANDING", str(landing))
        run_all(dsn, "ui-test-run")


@pytest.fixture(scope="session")
def ui_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_all(
        tmp_path_factory.mktemp("ui-landing"),
        {
            "deliveries/deliveries.csv": DELIVERIES,
            "targets/targets.csv": TARGETS,
            "sends/sends.csv": SENDS,
            "clicks/clicks.csv": CLICKS,
            "reports/smpp_main/r1.txt": SMPP,
            "reports/twilio_callbacks/c1.txt": TWILIO,
        },
    )


@pytest.fixture(scope="session")
def loaded_dsn(postgres_server: str, template_dsn: str, ui_landing: Path) -> Iterator[str]:
    """A tracking database with the landing loaded and built; read-only for the tests that use it."""
    dsn = _clone(postgres_server, template_dsn, f"sms_ui_loaded_{os.getpid()}")
    load_landing(dsn, ui_landing)
    yield dsn
    _admin(postgres_server, f"DROP DATABASE IF EXISTS {dsn.rsplit('/', 1)[-1]} WITH (FORCE)")


@pytest.fixture(scope="session")
def extras_template(postgres_server: str, loaded_dsn: str) -> Iterator[str]:
    """``loaded_dsn`` plus the optional tables with rows (a template: tests get a fresh copy)."""
    dsn = _clone(postgres_server, loaded_dsn, f"sms_ui_extras_{os.getpid()}")
    with psycopg.connect(dsn) as conn:
        # Whatever the build already derived for these tables is replaced by the rows above, so the
        # expectations do not depend on which build steps exist yet.
        for table in (*OPTIONAL_TABLES, *BUILD_SUMMARIES):
            if conn.execute("SELECT to_regclass(%s)", (f"sms_tracking.{table}",)).fetchone()[0]:  # type: ignore[index]
                conn.execute(f"DELETE FROM sms_tracking.{table}")  # type: ignore[arg-type]
        conn.execute(OPTIONAL_ROWS)  # type: ignore[arg-type]
    yield dsn
    _admin(postgres_server, f"DROP DATABASE IF EXISTS {dsn.rsplit('/', 1)[-1]} WITH (FORCE)")


_copies = iter(range(1_000_000))


@pytest.fixture
def extras_dsn(postgres_server: str, extras_template: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh copy of ``extras_template`` for one test (quarantine actions write to it)."""
    dsn = _clone(postgres_server, extras_template, f"sms_ui_x_{os.getpid()}_{next(_copies)}")
    monkeypatch.setenv("SMS_TRACKING_DSN", dsn)
    yield dsn
    _admin(postgres_server, f"DROP DATABASE IF EXISTS {dsn.rsplit('/', 1)[-1]} WITH (FORCE)")


@pytest.fixture(scope="session")
def copy_of_extras(postgres_server: str, extras_template: str) -> Iterator[Callable[[], str]]:
    """A factory of fresh copies of ``extras_template`` for fixtures wider than one test; dropped at the end."""
    made: list[str] = []

    def make() -> str:
        dsn = _clone(postgres_server, extras_template, f"sms_ui_m_{os.getpid()}_{next(_copies)}")
        made.append(dsn)
        return dsn

    yield make
    for dsn in made:
        _admin(postgres_server, f"DROP DATABASE IF EXISTS {dsn.rsplit('/', 1)[-1]} WITH (FORCE)")


@pytest.fixture
def bare_dsn(postgres_server: str, loaded_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A copy of ``loaded_dsn`` as it was before the migrations that add the optional tables."""
    dsn = _clone(postgres_server, loaded_dsn, f"sms_ui_b_{os.getpid()}_{next(_copies)}")
    with psycopg.connect(dsn) as conn:
        for table in OPTIONAL_TABLES:
            conn.execute(f"DROP TABLE IF EXISTS sms_tracking.{table} CASCADE")  # type: ignore[arg-type]
    monkeypatch.setenv("SMS_TRACKING_DSN", dsn)
    yield dsn
    _admin(postgres_server, f"DROP DATABASE IF EXISTS {dsn.rsplit('/', 1)[-1]} WITH (FORCE)")


@pytest.fixture
def loaded(loaded_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the app at the loaded database (no optional tables)."""
    monkeypatch.setenv("SMS_TRACKING_DSN", loaded_dsn)
    return loaded_dsn


@pytest.fixture(scope="session")
def plugin_app() -> Any:
    from sms_tracking.ui.app import create_app

    return create_app()


@pytest.fixture
def client_for(plugin_app: Any) -> Iterator[Callable[[str | None], Any]]:
    """``client_for(role)``: a TestClient on the plugin app as a SimpleAuthManager user of that role.

    The role travels in a test-only header read by the overridden ``get_user``; without it (``None``,
    anonymous) Airflow's real ``get_user`` runs on the request's bearer token or cookie. Every request
    carries the view's ``Origin``, as a browser's would (tests of the same-origin rule drop it).
    """
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api import security
    from fastapi.testclient import TestClient

    from sms_tracking.ui import auth

    async def user_from_header(request: Request) -> Any:
        role = request.headers.get(ROLE_HEADER)
        if role:
            return SimpleAuthManagerUser(username=f"{role}-user", role=role)
        credentials = await security.bearer_scheme(request)
        return await security.get_user(request, None, credentials)

    plugin_app.dependency_overrides[auth.get_user] = user_from_header
    same_origin = {"Origin": "http://testserver"}  # what a browser sends with a write from the view
    with mock.patch("airflow.api_fastapi.core_api.security.get_auth_manager", return_value=SimpleAuthManager()):
        yield lambda role: TestClient(plugin_app, headers={ROLE_HEADER: role, **same_origin} if role else same_origin)
    plugin_app.dependency_overrides.clear()


@pytest.fixture(autouse=True)
def no_data_docs_yet(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """UI tests start with no Data Docs site, whatever other tests of the session built; a test that
    needs one points AIRFLOW__SMS_TRACKING__DATA_DOCS at its own folder."""
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__DATA_DOCS", str(tmp_path_factory.mktemp("no-data-docs")))
