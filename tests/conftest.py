"""Test harness: one temporary folder, a throwaway Postgres cluster and an isolated Airflow home for the session.

Airflow reads its configuration at import, so the environment is set in ``pytest_configure``, before
collection imports any test module. ``SMS_TRACKING_TEST_DSN`` points the suite at an existing server
instead (its role must be allowed to create databases).
"""

from __future__ import annotations

import functools
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.landing import prepare
from tests.project import PROJECT
from tests.servers import admin, database, stop_left_running

SESSION_DIR = pytest.StashKey[Path]()
_counter = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    """Make the session's folder and point everything temporary at it: the Airflow home, the cluster,
    ``tempfile``, ``tmp_path`` and subprocesses (``TMPDIR``), so removing it at the end leaves nothing."""
    if config.rootpath != PROJECT:
        raise pytest.UsageError(f"run the tests from the checkout's top, {config.rootpath} (./dev test does)")
    session = Path(tempfile.mkdtemp(prefix="sms-tracking-tests-"))
    session.chmod(0o755)  # as root, the cluster runs as another user, who must reach its folder
    config.stash[SESSION_DIR] = session
    patch = pytest.MonkeyPatch()
    config.add_cleanup(patch.undo)
    patch.setattr(tempfile, "tempdir", str(session))
    for name, value in {
        "TMPDIR": str(session),
        "AIRFLOW_HOME": str(session / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "GX_ANALYTICS_ENABLED": "false",
    }.items():
        patch.setenv(name, value)
    patch.delenv("SMS_TRACKING_DSN", raising=False)
    patch.delenv("AIRFLOW_CONN_SMS_TRACKING_POSTGRES", raising=False)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Remove the session's folder (after pytest's own clean-up of ``tmp_path``); a run that cannot fails."""
    folder = session.config.stash.get(SESSION_DIR, None)
    if folder is None:
        return
    shutil.rmtree(folder, ignore_errors=True)
    if folder.exists():
        left = sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))[:20]
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"the test run left {folder} behind: {left}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def session_dir(pytestconfig: pytest.Config) -> Path:
    """The session's temporary folder, removed when the session ends."""
    return pytestconfig.stash[SESSION_DIR]


@pytest.fixture(autouse=True)
def _nothing_left_running() -> Iterator[None]:
    """Stop what a test registered with ``tests.servers.stop_on_teardown``, even when it failed."""
    yield
    stop_left_running()


@pytest.fixture
def make_landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """``make_landing(files, sources=None)``: the test's landing folder with these files, set as the pipeline's
    landing; ``sources`` (YAML text) becomes its sources file."""
    return functools.partial(prepare, monkeypatch, tmp_path)


@pytest.fixture(scope="session")
def postgres_server(session_dir: Path) -> Iterator[str]:
    """DSN of a server whose role may create databases: the harness's own cluster unless one is given."""
    given = os.environ.get("SMS_TRACKING_TEST_DSN")
    if given:
        yield given
        return
    from sms_tracking_dev.local_postgres import LocalPostgres, wait_until_ready

    cluster = LocalPostgres(session_dir / "postgres")
    dsn = cluster.start()
    wait_until_ready(dsn)
    yield dsn
    cluster.destroy()


@pytest.fixture(scope="session")
def template_dsn(postgres_server: str) -> str:
    """A database with the schema and the qualification seed applied, cloned by each test."""
    from sms_tracking.pipeline import prepare_database

    name = f"sms_template_{os.getpid()}"
    admin(postgres_server, f"DROP DATABASE IF EXISTS {name}")
    admin(postgres_server, f"CREATE DATABASE {name}")
    dsn = database(postgres_server, name)
    prepare_database(dsn)
    return dsn


@pytest.fixture
def dsn(postgres_server: str, template_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh migrated database for one test, also exported as SMS_TRACKING_DSN."""
    name = f"sms_test_{os.getpid()}_{next(_counter)}"
    template = template_dsn.rsplit("/", 1)[-1]
    admin(postgres_server, f"CREATE DATABASE {name} TEMPLATE {template}")
    test_dsn = database(postgres_server, name)
    monkeypatch.setenv("SMS_TRACKING_DSN", test_dsn)
    yield test_dsn
    admin(postgres_server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def airflow_db(session_dir: Path) -> Path:
    """Airflow's metadata database (SQLite in the Airflow home), migrated once."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, env=os.environ.copy()
    )
    return session_dir / "airflow"
