"""The tracking database through Airflow's connections: the environment, the metadata database, a secrets
backend. Each case runs in a fresh process with a clean environment (no SMS_TRACKING_DSN shortcut), as a
task or the API server would start."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.project import PROJECT

pytestmark = pytest.mark.integration


PROBE = """
import json
from contextlib import closing
from sms_tracking import db
with closing(db.connect()) as conn:
    name, work_mem, jit = conn.execute(
        "SELECT current_database(), current_setting('work_mem'), current_setting('jit')").fetchone()
    migrations = conn.execute("SELECT count(*) FROM sms_tracking.schema_migration").fetchone()[0]
print(json.dumps({"database": name, "work_mem": work_mem, "jit": jit, "migrated": migrations > 0,
                  "sqlalchemy": db.sqlalchemy_uri().split("://", 1)[0]}))
"""


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "AIRFLOW_HOME": str(home),
        "PYTHONPATH": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "GX_ANALYTICS_ENABLED": "false",
        **extra,
    }


def probe(env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def expected(dsn: str) -> dict[str, object]:
    """The test's migrated database, with the pipeline's session settings, and the same one for GX."""
    return {
        "database": dsn.rsplit("/", 1)[-1],
        "work_mem": "64MB",
        "jit": "off",
        "migrated": True,
        "sqlalchemy": "postgresql+psycopg",
    }


def test_a_connection_from_the_environment(dsn: str, tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home", AIRFLOW_CONN_SMS_TRACKING_POSTGRES=dsn, AIRFLOW__SMS_TRACKING__WORK_MEM="32MB")
    assert probe(env) == {**expected(dsn), "work_mem": "32MB"}


def test_a_connection_from_the_metadata_database(dsn: str, airflow_db: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(airflow_db / "airflow.db", home / "airflow.db")  # the migrated metadata database, a private copy
    env = clean_env(home, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}")
    added = subprocess.run(
        [sys.executable, "-m", "airflow", "connections", "add", "sms_tracking_postgres", "--conn-uri", dsn],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert added.returncode == 0, added.stderr[-3000:]
    # Airflow reads the metadata database's connections in its server processes (the API server, which
    # serves the UI and answers the tasks' Execution API); this is how they mark themselves.
    assert probe({**env, "_AIRFLOW_PROCESS_CONTEXT": "server"}) == expected(dsn)


def test_a_connection_from_a_secrets_backend_under_a_configured_id(dsn: str, tmp_path: Path) -> None:
    secrets = tmp_path / "connections.json"
    secrets.write_text(json.dumps({"tracking_db": dsn}), encoding="utf-8")
    env = clean_env(
        tmp_path / "home",
        AIRFLOW__SECRETS__BACKEND="airflow.secrets.local_filesystem.LocalFilesystemBackend",
        AIRFLOW__SECRETS__BACKEND_KWARGS=json.dumps({"connections_file_path": str(secrets)}),
        AIRFLOW__SMS_TRACKING__CONN_ID="tracking_db",
    )
    assert probe(env) == expected(dsn)


def test_without_a_connection_the_error_names_it(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path / "home",
        AIRFLOW__SMS_TRACKING__CONN_ID="no_such_tracking_db",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'empty.db'}",
    )
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "no_such_tracking_db" in done.stderr
