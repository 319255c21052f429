"""Airflow's real services for the ``services`` tests: the demo's api-server, scheduler, dag-processor and
triggerer (``sms_tracking_dev.demo``), their metadata in a fresh database of the session's Postgres server,
and the bounded waits and checks the tests share, read from the metadata database."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.servers import admin, database, free_port

from sms_tracking_dev import celery_services
from sms_tracking_dev.demo import Processes, airflow_env, services_env, start_services

AIRFLOW_STATES_DONE = ("success", "failed")
STUCK_AFTER = 240
"""Seconds after which a run still queued or running counts as stuck (every run here takes well under)."""
_counter = itertools.count()


@dataclass
class Services:
    """Running services: their environment (what workers get too), metadata database, processes, home."""

    env: dict[str, str]
    metadata: str
    """The metadata database as a libpq URL (the services use it through SQLAlchemy's psycopg driver)."""
    processes: Processes
    home: Path

    def query(self, sql: str, *params: Any) -> list[tuple]:
        with psycopg.connect(self.metadata, connect_timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    def runs(self) -> list[tuple]:
        """``(dag_id, run_id, run_type, state, age in seconds)`` of every run, oldest first."""
        return self.query(
            "SELECT dag_id, run_id, run_type, state, extract(epoch FROM now() - coalesce(start_date, queued_at))"
            " FROM dag_run ORDER BY coalesce(start_date, queued_at), dag_id"
        )

    def failed_tasks(self) -> list[tuple]:
        """Task tries that failed or wait for a retry, now or in an earlier try (the history)."""
        return self.query(
            "SELECT dag_id, run_id, task_id, map_index, state FROM task_instance"
            " WHERE state IN ('failed', 'upstream_failed', 'up_for_retry')"
            " UNION ALL SELECT dag_id, run_id, task_id, map_index, state FROM task_instance_history"
            " WHERE state IN ('failed', 'upstream_failed', 'up_for_retry')"
        )

    def diagnostics(self) -> str:
        """What a failed wait shows: the runs, the failed tasks and the tail of each service's log."""
        lines = [
            "runs:",
            *(f"  {row}" for row in self.runs()),
            "failed tasks:",
            *(f"  {row}" for row in self.failed_tasks()),
        ]
        for log in sorted(self.home.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-15:]
            lines += [f"--- {log.name}", *tail]
        return "\n".join(lines)

    def check_alive(self) -> None:
        for proc in self.processes.running:
            if proc.poll() is not None:
                pytest.fail(f"{' '.join(map(str, proc.args))} exited ({proc.returncode})\n{self.diagnostics()}")

    def wait_until(self, what: str, ready: Callable[[], bool], timeout: float) -> float:
        """Poll ``ready`` every 2 s until true, at most ``timeout`` s, failing early when a service exits or a
        task fails; returns the seconds it took."""
        started = time.monotonic()
        while True:
            self.check_alive()
            if failed := self.failed_tasks():
                pytest.fail(f"tasks failed while waiting for {what}: {failed}\n{self.diagnostics()}")
            if ready():
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                pytest.fail(f"{what}: not within {timeout:.0f} s\n{self.diagnostics()}")
            time.sleep(2)

    def assert_healthy(self) -> None:
        """No task failed, no run stuck, no DAG file failed to import."""
        assert self.failed_tasks() == []
        stuck = [row for row in self.runs() if row[3] not in AIRFLOW_STATES_DONE and (row[4] or 0) > STUCK_AFTER]
        assert stuck == [], stuck
        assert self.query("SELECT filename, stacktrace FROM import_error") == []


@contextmanager
def airflow_services(
    server: str, folder: Path, dsn: str, settings: dict[str, str], executor: str = "LocalExecutor"
) -> Iterator[Services]:
    """The services on a fresh metadata database (dropped after), with ``settings`` in their environment;
    every process they started is stopped when the block ends."""
    name = f"airflow_services_{os.getpid()}_{next(_counter)}"
    admin(server, f"CREATE DATABASE {name}")
    home = folder / "airflow"
    port = free_port()
    env = services_env(airflow_env(home, dsn), database(server, name, "postgresql+psycopg"), port)
    env.update(settings)
    env["AIRFLOW__CORE__EXECUTOR"] = executor
    env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(home / "logs")
    processes = Processes(folder / "processes")
    services = Services(env, database(server, name), processes, home)
    try:
        start_services(processes, env, port)
        yield services
    finally:
        processes.stop_all()
        admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def start_worker(services: Services, name: str, folder: Path) -> None:
    """A Celery worker of these services in a folder of its own (``sms_tracking_dev.celery_services``)."""
    celery_services.start_worker(services.processes, services.env, name, folder, services.home / f"worker-{name}.log")
