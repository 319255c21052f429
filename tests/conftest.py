"""Test harness: a throwaway Postgres cluster and an isolated Airflow home for the whole session.

Airflow reads its configuration at import, so the environment is set here, before any test module
imports it. ``SMS_TRACKING_TEST_DSN`` points the suite at an existing server instead (its role must be
allowed to create databases).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SESSION_DIR = Path(tempfile.mkdtemp(prefix="sms-tracking-tests-"))
SESSION_DIR.chmod(0o755)
AIRFLOW_HOME = SESSION_DIR / "airflow"

os.environ.update({
    "AIRFLOW_HOME": str(AIRFLOW_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    "GX_ANALYTICS_ENABLED": "false",
})
os.environ.pop("SMS_TRACKING_DSN", None)
os.environ.pop("AIRFLOW_CONN_SMS_TRACKING_POSTGRES", None)
sys.path.insert(0, str(PROJECT / "plugins"))

_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """DSN of a server whose role may create databases: the harness's own cluster unless one is given."""
    given = os.environ.get("SMS_TRACKING_TEST_DSN")
    if given:
        yield given
        return
    from sms_tracking_dev.local_postgres import LocalPostgres, wait_until_ready

    cluster = LocalPostgres(SESSION_DIR / "postgres")
    dsn = cluster.start()
    wait_until_ready(dsn)
    yield dsn
    cluster.destroy()


def _with_database(dsn: str, name: str) -> str:
    """The same server and role, another database, as a URI (the form Airflow connections take)."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    return (f"postgresql://{params.get('user', 'postgres')}:{params.get('password', '')}"
            f"@{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}/{name}")


def _admin(dsn: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture(scope="session")
def template_dsn(postgres_server: str) -> str:
    """A database with the schema and the qualification seed applied, cloned by each test."""
    from sms_tracking.pipeline import prepare_database

    name = f"sms_template_{os.getpid()}"
    _admin(postgres_server, f"DROP DATABASE IF EXISTS {name}")
    _admin(postgres_server, f"CREATE DATABASE {name}")
    dsn = _with_database(postgres_server, name)
    prepare_database(dsn)
    return dsn


@pytest.fixture
def dsn(postgres_server: str, template_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh migrated database for one test, also exported as SMS_TRACKING_DSN."""
    name = f"sms_test_{os.getpid()}_{next(_counter)}"
    template = template_dsn.rsplit("/", 1)[-1]
    _admin(postgres_server, f"CREATE DATABASE {name} TEMPLATE {template}")
    test_dsn = _with_database(postgres_server, name)
    monkeypatch.setenv("SMS_TRACKING_DSN", test_dsn)
    yield test_dsn
    _admin(postgres_server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's metadata database (SQLite in the session folder), migrated once."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, env=os.environ.copy()
    )
    return AIRFLOW_HOME
