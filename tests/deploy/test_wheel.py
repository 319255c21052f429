"""The wheel, installed as a team that already runs Airflow would install it (issue 15, "Proof").

Builds the wheel from the checkout, installs it with Airflow 3.3.2 into a fresh virtualenv outside the
repository (the lock as constraints), then runs that venv's ``airflow`` in a fresh ``AIRFLOW_HOME``,
from a folder outside the repository, with an environment built from scratch (no ``PYTHONPATH``, no
project folder on any path) and a DAG folder holding one line. Everything it finds comes from the
installed package: the plugin and provider entry points, the packaged DAGs, SQL, seeds and UI files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests import servers
from tests.project import PROJECT

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

AIRFLOW_VERSION = "3.3.2"
LOGICAL_DATE = "2026-05-05T00:00:00+00:00"
REPORT_DAG = "sms_tracking_ingest_smpp_main"
DAGS_RUN = ("sms_tracking_ingest_campaign", REPORT_DAG, "sms_tracking_build")
DAG_FILE = "from sms_tracking.dags.all import *  # noqa: F403 (the sms-tracking DAGs for Airflow's dag processor)\n"
COMMAND_TIMEOUT = 300
"""Seconds one ``airflow`` command may take before the test calls it hung."""
NOT_IN_THE_WHEEL = re.compile(
    r"(^|/)(tests?|bench|sms_tracking_dev|sample_data|sample_landing|\.demo|__pycache__)(/|$)"
    r"|\.pyc$"
)


@dataclass
class Installed:
    """The fresh virtualenv with Airflow and the wheel, and how long each step took."""

    root: Path
    wheel: Path

    @property
    def bin(self) -> Path:
        return self.root / "venv" / "bin"


@dataclass
class Deployment:
    """A fresh Airflow home using the installed package, and the tracking database its tasks write to."""

    installed: Installed
    env: dict[str, str]
    cwd: Path
    dsn: str

    def airflow(self, *args: str, timeout: float = COMMAND_TIMEOUT, check: bool = True) -> str:
        """Run the venv's ``airflow`` and return its output (stdout and stderr: Airflow logs to both)."""
        result = subprocess.run(
            [str(self.installed.bin / "airflow"), *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = result.stdout + result.stderr
        if check:
            assert result.returncode == 0, f"airflow {' '.join(args)} exited {result.returncode}:\n{output[-4000:]}"
        return output


def _run(command: list[str], cwd: Path) -> None:
    """Run a set-up command with the caller's environment minus its Python paths and virtualenv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{command[:4]} failed:\n{(result.stdout + result.stderr)[-4000:]}"


def _json_of(output: str) -> Any:
    """The JSON document of a ``-o json`` command: its last line (Airflow's warnings come before it)."""
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def installed() -> Iterator[Installed]:
    """``pip wheel`` on the checkout, then Airflow and the wheel in a new venv outside the repository."""
    root = Path(tempfile.mkdtemp(prefix="sms-tracking-wheel-"))
    pip = ["-m", "pip", "--disable-pip-version-check", "-q"]
    try:
        _run([sys.executable, *pip, "wheel", "--no-deps", "-w", str(root / "dist"), str(PROJECT)], cwd=root)
        (wheel,) = (root / "dist").glob("sms_tracking-*.whl")
        _run([sys.executable, "-m", "venv", str(root / "venv")], cwd=root)
        constraints = str(PROJECT / "requirements.txt")
        # --no-compile: no byte-compiling of every installed module; those Airflow imports compile on import.
        _run(
            [
                str(root / "venv/bin/python"),
                *pip,
                "install",
                "--no-compile",
                f"apache-airflow=={AIRFLOW_VERSION}",
                str(wheel),
                "-c",
                constraints,
            ],
            cwd=root,
        )
        yield Installed(root, wheel)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def deployment(installed: Installed, postgres_server: str) -> Iterator[Deployment]:
    """A fresh Airflow home (migrated), a one-line DAG folder, a small landing and an empty tracking database."""
    from sms_tracking_dev.sample_data import generate

    home = installed.root / "deployment"
    dags, landing, cwd = home / "dags", home / "landing", home / "elsewhere"
    for folder in (dags, cwd):
        folder.mkdir(parents=True)
    (dags / "sms_tracking_dags.py").write_text(DAG_FILE, encoding="utf-8")
    generate(landing, messages=200)
    name = f"sms_wheel_{os.getpid()}"
    servers.admin(postgres_server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    servers.admin(postgres_server, f"CREATE DATABASE {name}")  # empty: the DAGs' first task migrates it
    dsn = servers.database(postgres_server, name)
    env = {
        "PATH": os.pathsep.join([str(installed.bin), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "GX_ANALYTICS_ENABLED": "false",
        # The tracking database through the Airflow connection (no SMS_TRACKING_DSN shortcut).
        "AIRFLOW_CONN_SMS_TRACKING_POSTGRES": dsn,
        "AIRFLOW__SMS_TRACKING__LANDING": str(landing),
    }
    deployment = Deployment(installed, env, cwd, dsn)
    try:
        deployment.airflow("db", "migrate")
        yield deployment
    finally:
        servers.admin(postgres_server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- the wheel -----------------------------------------------------------------------------------------------


def test_the_wheel_holds_the_runtime_package_and_its_data_only(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = wheel.namelist()
        entry_points = next(wheel.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    package = {n for n in names if not n.startswith("sms_tracking-")}
    assert all(n.startswith("sms_tracking/") for n in package), sorted(package)
    assert sorted(n for n in names if NOT_IN_THE_WHEEL.search(n)) == []

    def there(relative: str) -> set[str]:
        prefix = f"sms_tracking/{relative}/"
        return {n.removeprefix(prefix) for n in package if n.startswith(prefix)}

    for folder in ("sql", "seeds", "config"):  # every data file of the repository's include/, by the same name
        repository = {
            p.relative_to(PROJECT / "include" / folder).as_posix()
            for p in (PROJECT / "include" / folder).rglob("*")
            if p.is_file()
        }
        assert repository and repository == there(f"include/{folder}"), folder
    assert {"migrations", "functions", "build", "load", "ui"} <= {n.split("/", 1)[0] for n in there("include/sql")}
    assert {"sources.yaml", "quality.yaml"} <= there("include/config")
    assert any(n.endswith(".html") for n in there("ui/templates"))
    assert {"css", "js", "img"} <= {n.split("/", 1)[0] for n in there("ui/static")}
    assert {"all.py", "build.py", "ingest.py", "common.py"} <= there("dags")
    assert "sms_tracking.sms_tracking_plugin:SmsTrackingPlugin" in entry_points
    assert "sms_tracking.get_provider_info:get_provider_info" in entry_points


# --- the installed package in a fresh Airflow ---------------------------------------------------------------


def test_airflow_loads_the_plugin_from_its_entry_point(deployment: Deployment) -> None:
    plugins = _json_of(deployment.airflow("plugins", "-o", "json"))
    (plugin,) = [p for p in plugins if p["name"] == "sms_tracking"]
    assert "group='airflow.plugins'" in plugin["source"] and "sms-tracking==" in plugin["source"]
    where = subprocess.run(
        [str(deployment.installed.bin / "python"), "-c", "import sms_tracking; print(sms_tracking.__file__)"],
        cwd=deployment.cwd,
        env=deployment.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(deployment.installed.root / "venv"), where.stdout
    providers = deployment.airflow("providers", "list")
    assert "sms-tracking" in providers


def test_airflow_config_shows_the_sms_tracking_section(deployment: Deployment) -> None:
    """The provider's ``config`` declares the section: its keys are listed, its defaults and the environment read."""
    output = deployment.airflow("config", "list", "--section", "sms_tracking")
    assert "[sms_tracking]" in output, output[-2000:]
    for key in ("conn_id", "landing", "work_mem", "data_docs"):
        assert re.search(rf"^#?\s*{key} =", output, re.MULTILINE), (key, output[-2000:])
    value = deployment.airflow("config", "get-value", "sms_tracking", "conn_id").strip().splitlines()[-1]
    assert value == "sms_tracking_postgres"
    value = deployment.airflow("config", "get-value", "sms_tracking", "landing").strip().splitlines()[-1]
    assert value == deployment.env["AIRFLOW__SMS_TRACKING__LANDING"]
    # Airflow now knows the declared default: an explicit value equal to it still wins over a legacy variable.
    explicit = subprocess.run(
        [
            str(deployment.installed.bin / "python"),
            "-W",
            "ignore",
            "-c",
            "from sms_tracking.settings import get_settings; print(get_settings().max_reject_rate)",
        ],
        cwd=deployment.cwd,
        env={**deployment.env, "AIRFLOW__SMS_TRACKING__MAX_REJECT_RATE": "0.05", "SMS_TRACKING_MAX_REJECT_RATE": "0.5"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert explicit.stdout.splitlines()[-1] == "0.05", explicit.stdout + explicit.stderr


def test_the_one_line_dag_file_imports_every_packaged_dag(deployment: Deployment) -> None:
    assert _json_of(deployment.airflow("dags", "list-import-errors", "--local", "-o", "json")) == []
    listed = _json_of(deployment.airflow("dags", "list", "--local", "-o", "json", "--columns", "dag_id,fileloc"))
    dag_ids = {d["dag_id"] for d in listed}
    assert set(DAGS_RUN) | {"sms_tracking_requalify", "sms_tracking_cleanup"} <= dag_ids
    assert {d["fileloc"] for d in listed} == {deployment.env["AIRFLOW__CORE__DAGS_FOLDER"] + "/sms_tracking_dags.py"}


@pytest.fixture(scope="module")
def ran(deployment: Deployment) -> None:
    """``airflow dags test`` of the campaign ingest, one report source's ingest, then the build."""
    for dag_id in DAGS_RUN:
        deployment.airflow("dags", "test", dag_id, LOGICAL_DATE)  # exits non-zero when the run failed


def test_dags_test_ingests_and_builds_into_the_tracking_database(deployment: Deployment, ran: None) -> None:
    with psycopg.connect(deployment.dsn) as conn:
        deliveries, sent = conn.execute("SELECT count(*), sum(sent) FROM sms_tracking.delivery_summary").fetchone()
        reports = conn.execute("SELECT count(*) FROM sms_tracking.report").fetchone()[0]
    assert deliveries > 0 and sent > 0, "the build wrote no delivery summary"
    assert reports > 0, f"{REPORT_DAG} loaded no report"


def test_the_ui_route_answers_an_authenticated_request(deployment: Deployment, ran: None) -> None:
    airflow = [str(deployment.installed.bin / "airflow")]
    log = deployment.cwd / "api-server.log"
    with servers.api_server(airflow, deployment.env, deployment.cwd, log, password="wheel-test-password") as base:
        token = servers.token(base, "admin", "wheel-test-password")
        status, page = servers.get_json(f"{base}/sms-tracking/api/deliveries", token)
        assert status == 200
        with psycopg.connect(deployment.dsn) as conn:
            summary = dict(conn.execute("SELECT delivery_id, to_deliver FROM sms_tracking.delivery_summary").fetchall())
        assert page["total_entries"] > 0 and page["items"]
        assert {row["delivery_id"]: row["to_deliver"] for row in page["items"]}.items() <= summary.items()
        assert servers.get_json(f"{base}/sms-tracking/api/deliveries")[0] in (401, 403)
