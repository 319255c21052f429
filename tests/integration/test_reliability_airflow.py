"""Faults during real Airflow task runs (issue #8): ``airflow dags test`` subprocesses on a real Postgres.

``test_reliability_faults.py`` injects the same faults by calling the pipeline functions; here the
fault strikes a task that Airflow runs, and the retry is Airflow's, one of:

- the task's own retries within the DAG run (same run id; Airflow keeps the failed try in
  ``task_instance_history``), as the scheduler does;
- a second ``dags test`` of the same logical date, as an operator does after a failed run (Airflow
  3.3 ``dags test`` deletes the earlier run of that date and runs a new one);
- ``airflow tasks test`` of one task of an existing run (the same run id, the task run again).

Faults are made deterministic with locks: the test holds a lock that the task needs at a known point
(a table lock that the merge of a load or the write of a build step waits for, or the build's
advisory lock), polls ``pg_locks``/``pg_stat_activity`` until the task's backend waits on it, then
terminates that backend (or restarts the server) while the task is inside its transaction.

The landing is the bundled sample data. Only the DAG under test runs through Airflow (a ``dags
test`` costs 10-25 s); the objects of the other sources are loaded, and the build of the ingest
tests is run, by calling the pipeline functions those tasks call. Every result is compared with an
undisturbed load and build of the same files in a database of its own (module fixture
``reference``), and the report figures (lines in = stored + merged + rejected) are checked.

Retries: ``tests/integration/airflow_policy/airflow_local_settings.py`` (a cluster policy put on the
subprocesses' ``PYTHONPATH`` only) sets the tasks' retries to 0 where a test wants to see the run
fail, or shortens the DAGs' 30 s retry delay where a test wants Airflow's own retry.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
from tests.integration.test_reliability_faults import dedicated_cluster, duplicates, fresh_database, snapshot
from tests.landing import build_all, load_all, prepare
from tests.servers import stop_on_teardown

from sms_tracking import pipeline
from sms_tracking_dev import sample_landing

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

POLICY_DIR = Path(__file__).with_name("airflow_policy")
CAMPAIGN = "campaign"
REPORT_SOURCES = ("smpp_main", "twilio_callbacks", "twilio_api")
SMPP_DAG = "sms_tracking_ingest_smpp_main"
BUILD_DAG = "sms_tracking_build"
RUN_TIMEOUT = 300
"""Seconds a ``dags test`` may take before the test calls it hung (a deadlock would show here)."""
WAIT_TIMEOUT = 180
"""Seconds to wait for a task to reach the lock the test holds."""

# Figures of the bundled sample data (docs/reliability.md, "Figures"), asserted after every fault.
REPORTS_IN = 971
"""Report lines read from the three report sources (513 SMPP + 396 Twilio callbacks + 62 Twilio JSON)."""
REPORTS_STORED = 953
REPORTS_MERGED = 16
"""Lines identical to a report already stored (the sample data repeats some receipts): merged, not stored twice."""
REPORTS_REJECTED = 2


# --- the Airflow side -------------------------------------------------------------------------------


def private_home(airflow_db: Path, where: Path) -> Path:
    """A copy of the session's migrated Airflow home for one test: the metadata DB of the runs a test
    starts is its own, so nothing a run leaves there reaches another test or the session's DB."""
    home = where / "airflow-home"
    shutil.copytree(airflow_db, home, ignore=shutil.ignore_patterns("logs", "sms_tracking_data_docs"))
    return home


def airflow_env(dsn: str, landing: Path, home: Path | None = None, **settings: str) -> dict[str, str]:
    """The environment of a ``dags test``: tasks reach Postgres through the Airflow connection."""
    env = {key: value for key, value in os.environ.items() if key != "SMS_TRACKING_DSN"}
    env.update(
        {
            "AIRFLOW_CONN_SMS_TRACKING_POSTGRES": dsn,
            "AIRFLOW__SMS_TRACKING__LANDING": str(landing),
            "PYTHONPATH": os.pathsep.join(p for p in (str(POLICY_DIR), env.get("PYTHONPATH")) if p),
            **settings,
        }
    )
    if home is not None:
        env["AIRFLOW_HOME"] = str(home)
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    return env


class DagsTest:
    """``airflow dags test <dag_id> <logical date>`` running in the background, its output in a file."""

    def __init__(self, dag_id: str, logical_date: str, env: dict[str, str], log: Path) -> None:
        self.dag_id, self.logical_date, self.log = dag_id, logical_date, log
        self.home = Path(env["AIRFLOW_HOME"])
        self._out: IO[str] = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "airflow", "dags", "test", dag_id, logical_date],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        stop_on_teardown(self.stop)

    def stop(self) -> None:
        """Kill the run (its own process group) if a failed test left it running."""
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._out.close()

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float = RUN_TIMEOUT) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"{self.dag_id} {self.logical_date} did not finish in {timeout} s:\n{self.tail()}")
        finally:
            self._out.close()
        return code

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def states(self) -> tuple[str, dict[str, tuple[str, int]]]:
        """The DAG run's state and ``task_id[map_index]: (state, try_number)`` from the metadata DB."""
        with closing(sqlite3.connect(self.home / "airflow.db")) as conn:
            row = conn.execute(
                "SELECT run_id, state FROM dag_run WHERE dag_id = ? AND logical_date LIKE ?",
                (self.dag_id, f"{self.logical_date} 00:00:00%"),
            ).fetchone()
            assert row, f"no run of {self.dag_id} at {self.logical_date} in the metadata DB"
            tis = conn.execute(
                "SELECT task_id, map_index, state, try_number FROM task_instance WHERE dag_id = ? AND run_id = ?",
                (self.dag_id, row[0]),
            ).fetchall()
        return row[1], {_ti_key(task, index): (state, tries) for task, index, state, tries in tis}

    def run_id(self) -> str:
        with closing(sqlite3.connect(self.home / "airflow.db")) as conn:
            return str(
                conn.execute(
                    "SELECT run_id FROM dag_run WHERE dag_id = ? AND logical_date LIKE ?",
                    (self.dag_id, f"{self.logical_date} 00:00:00%"),
                ).fetchone()[0]
            )

    def history(self) -> list[tuple[str, int, str]]:
        """Earlier tries kept by Airflow: ``(task_id[map_index], try_number, state)``."""
        with closing(sqlite3.connect(self.home / "airflow.db")) as conn:
            rows = conn.execute(
                "SELECT h.task_id, h.map_index, h.try_number, h.state FROM task_instance_history h "
                "JOIN dag_run r ON r.dag_id = h.dag_id AND r.run_id = h.run_id "
                "WHERE h.dag_id = ? AND r.logical_date LIKE ? ORDER BY h.try_number",
                (self.dag_id, f"{self.logical_date} 00:00:00%"),
            ).fetchall()
        return [(_ti_key(task, index), tries, state) for task, index, tries, state in rows]


def _ti_key(task_id: str, map_index: int) -> str:
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


def xcom(home: Path, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
    """A task's return value as stored in the metadata DB."""
    with closing(sqlite3.connect(home / "airflow.db")) as conn:
        row = conn.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = ? "
            "AND key = 'return_value'",
            (dag_id, run_id, task_id, map_index),
        ).fetchone()
    assert row, f"no return value of {task_id}[{map_index}] in {run_id}"
    return json.loads(row[0])


def dags_test(dag_id: str, logical_date: str, env: dict[str, str], log: Path) -> DagsTest:
    run = DagsTest(dag_id, logical_date, env, log)
    run.wait()
    return run


# --- the Postgres side ------------------------------------------------------------------------------


def waiting_backends(dsn: str, runs: list[DagsTest], lock: str, count: int = 1) -> list[tuple[int, str]]:
    """Poll until ``count`` backends wait for a lock matching ``lock`` (SQL on ``pg_locks l``).

    Returns ``(pid, query)`` of each; fails early when a run ends before reaching the lock."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    with psycopg.connect(dsn, autocommit=True) as monitor:
        while True:
            rows = monitor.execute(
                "SELECT DISTINCT a.pid, a.query FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
                f"WHERE a.datname = current_database() AND NOT l.granted AND {lock}"
            ).fetchall()
            if len(rows) >= count:
                return rows
            for run in runs:
                if not run.running():
                    pytest.fail(f"{run.dag_id} ended ({run.proc.returncode}) before reaching the lock:\n{run.tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no task waited for the lock in {WAIT_TIMEOUT} s:\n{runs[0].tail() if runs else ''}")
            time.sleep(0.05)


def terminate(dsn: str, pid: int) -> None:
    """``pg_terminate_backend``, waiting until the backend is gone (so releasing a lock cannot revive it)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,)).fetchone() == (True,)


@contextlib.contextmanager
def table_locked(dsn: str, table: str, mode: str) -> Iterator[psycopg.Connection[Any]]:
    """Hold ``LOCK TABLE`` in a transaction of a connection of the test's own until the block ends."""
    conn = psycopg.connect(dsn)
    try:
        conn.execute(f"LOCK TABLE sms_tracking.{table} IN {mode} MODE")
        yield conn
    finally:
        with contextlib.suppress(psycopg.Error):
            conn.rollback()
        with contextlib.suppress(psycopg.Error):
            conn.close()


def relation_wait(table: str) -> str:
    return f"l.locktype = 'relation' AND l.relation = 'sms_tracking.{table}'::regclass"


BUILD_LOCK_WAIT = "l.locktype = 'advisory' AND l.classid = 0 AND l.objid = sms_tracking.build_lock()"
"""A wait for the advisory lock every build step takes first (its key read from the database, not repeated here)."""


def report_figures(dsn: str) -> dict[str, int]:
    """Report lines read from the report sources and where they went: stored, merged into an identical
    report already stored, or rejected with a reason."""
    with psycopg.connect(dsn) as conn:
        read, merged, rejected = conn.execute(
            "SELECT coalesce(sum(rows_read), 0), coalesce(sum(rows_duplicate), 0), coalesce(sum(rows_rejected), 0) "
            "FROM sms_tracking.source_object WHERE source = ANY(%s) AND status = 'loaded'",
            (list(REPORT_SOURCES),),
        ).fetchone()  # type: ignore[misc]
        stored = conn.execute("SELECT count(*) FROM sms_tracking.report").fetchone()[0]  # type: ignore[index]
        reject_rows = conn.execute(
            "SELECT count(*) FROM sms_tracking.reject WHERE source = ANY(%s)", (list(REPORT_SOURCES),)
        ).fetchone()[0]  # type: ignore[index]
    assert reject_rows == rejected, "every rejected line has its reject row"
    return {"in": int(read), "stored": int(stored), "merged": int(merged), "rejected": int(rejected)}


def source_objects(dsn: str, source: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT object_id, uri, status, rows_read, rows_loaded, rows_duplicate, rows_rejected "
            "FROM sms_tracking.source_object WHERE source = %s ORDER BY uri",
            (source,),
        ).fetchall()


def count(dsn: str, sql: str) -> int:
    with psycopg.connect(dsn) as conn:
        return int(conn.execute(sql).fetchone()[0])  # type: ignore[index]


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(postgres_server: str, template_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tables after an undisturbed load and build of the bundled landing, in a database of their own."""
    dsn = fresh_database(postgres_server, template_dsn)
    with pytest.MonkeyPatch.context() as mp:
        shutil.copytree(sample_landing(), prepare(mp, tmp_path_factory.mktemp("airflow-reference")), dirs_exist_ok=True)
        load_all(dsn, (CAMPAIGN, *REPORT_SOURCES))
        build_all(dsn)
    figures = report_figures(dsn)
    assert duplicates(dsn) == 0
    return {"tables": snapshot(dsn), "figures": figures}


@pytest.fixture
def landing(make_landing: Callable[..., Path]) -> Path:
    """A copy of the bundled landing (the build writes send lists into it)."""
    return shutil.copytree(sample_landing(), make_landing(), dirs_exist_ok=True)


def assert_equals_reference(dsn: str, reference: dict[str, Any]) -> None:
    tables = snapshot(dsn)
    for table, rows in reference["tables"].items():
        assert tables[table] == rows, f"{table} differs from the undisturbed run"
    assert duplicates(dsn) == 0
    figures = report_figures(dsn)
    assert figures == reference["figures"]
    assert figures["in"] == figures["stored"] + figures["merged"] + figures["rejected"]


# --- the tests --------------------------------------------------------------------------------------


def test_reference_figures(reference: dict[str, Any]) -> None:
    """The undisturbed run the fault tests compare with: every report line in is stored, merged or rejected."""
    assert reference["figures"] == {
        "in": REPORTS_IN,
        "stored": REPORTS_STORED,
        "merged": REPORTS_MERGED,
        "rejected": REPORTS_REJECTED,
    }
    assert all(reference["tables"][table] for table in ("report", "message", "delivery_log", "delivery_summary"))


def test_connection_killed_mid_load_fails_the_task_and_the_rerun_equals_an_undisturbed_run(
    dsn: str, landing: Path, reference: dict[str, Any], airflow_db: Path, tmp_path: Path
) -> None:
    load_all(dsn, (CAMPAIGN, "twilio_callbacks", "twilio_api"))
    env = airflow_env(dsn, landing, private_home(airflow_db, tmp_path), SMS_TRACKING_TEST_RETRIES="0")
    date = "2026-05-01"
    # The merge of a load writes the report table: a SHARE lock lets the task read, stage and COPY, and
    # stops it at the merge, inside the object's transaction.
    with table_locked(dsn, "report", "SHARE"):
        run = DagsTest(SMPP_DAG, date, env, tmp_path / "run1.log")
        [(pid, query)] = waiting_backends(dsn, [run], relation_wait("report"))
        with psycopg.connect(dsn) as conn:  # what the task did so far is uncommitted: invisible
            assert conn.execute(
                "SELECT count(*) FROM sms_tracking.source_object WHERE source = 'smpp_main'"
            ).fetchone() == (0,)
        terminate(dsn, pid)
    assert run.wait() == 1, f"the run should fail:\n{run.tail()}"
    assert "AdminShutdown" in run.log.read_text(errors="replace")  # the task met the terminated connection
    state, tis = run.states()
    assert state == "failed"
    assert tis["load_object[0]"] == ("failed", 1)
    assert tis["all_objects_loaded"][0] == "upstream_failed"
    assert "sms_tracking.report" in query
    # Nothing of the object was stored: no source_object row, no report, no reject.
    assert source_objects(dsn, "smpp_main") == []
    assert count(dsn, "SELECT count(*) FROM sms_tracking.report WHERE provider = 'smpp'") == 0

    # The retry: ``dags test`` of the same logical date (Airflow replaces the failed run with a new one).
    rerun = dags_test(SMPP_DAG, date, env, tmp_path / "run2.log")
    assert rerun.proc.returncode == 0, rerun.tail()
    state, tis = rerun.states()
    assert state == "success"
    assert tis["load_object[0]"][0] == "success"
    [(_, _, status, *_)] = source_objects(dsn, "smpp_main")
    assert status == "loaded"
    build_all(dsn)
    assert_equals_reference(dsn, reference)


def test_connection_killed_inside_a_build_step_airflow_retries_it_and_the_result_equals_an_undisturbed_run(
    dsn: str, landing: Path, reference: dict[str, Any], airflow_db: Path, tmp_path: Path
) -> None:
    load_all(dsn, (CAMPAIGN, *REPORT_SOURCES))
    # The DAG's own retries (2), one second apart instead of 30: Airflow retries the failed task in the
    # same DAG run, as the scheduler does.
    env = airflow_env(dsn, landing, private_home(airflow_db, tmp_path), SMS_TRACKING_TEST_RETRY_DELAY="1")
    date = "2026-05-02"
    # delivery_log is the first step that writes the delivery_log table: an EXCLUSIVE lock lets prepare and
    # qualify through and stops delivery_log after it took its queue (DELETE FROM pending_message), in its
    # transaction.
    with table_locked(dsn, "delivery_log", "EXCLUSIVE"):
        run = DagsTest(BUILD_DAG, date, env, tmp_path / "build.log")
        [(pid, query)] = waiting_backends(dsn, [run], relation_wait("delivery_log"))
        assert count(dsn, "SELECT count(*) FROM sms_tracking.delivery_log") == 0
        terminate(dsn, pid)
    assert run.wait() == 0, run.tail()
    assert "INSERT INTO sms_tracking.delivery_log" in query or "sms_tracking.delivery_log" in query
    assert "AdminShutdown" in run.log.read_text(errors="replace")
    state, tis = run.states()
    assert state == "success"
    assert tis["delivery_log"] == ("success", 2)  # the killed try and Airflow's retry
    assert tis["prepare"] == ("success", 1) and tis["qualify"] == ("success", 1)  # not repeated
    assert all(tis[step] == ("success", 1) for step in pipeline.BUILD_STEPS[3:]), tis
    assert tis["validate"] == ("success", 1)
    assert ("delivery_log", 1, "failed") in run.history()  # the killed try, kept by Airflow
    assert_equals_reference(dsn, reference)


def test_postgres_restarted_mid_load_airflow_retries_and_the_result_equals_an_undisturbed_run(
    landing: Path, reference: dict[str, Any], airflow_db: Path, tmp_path: Path
) -> None:
    from sms_tracking_dev.local_postgres import wait_until_ready

    with dedicated_cluster(tmp_path) as (cluster, server):
        load_all(server, (CAMPAIGN, "twilio_callbacks", "twilio_api"))
        # Airflow's own retry, 5 s after the failure (the restart takes about a second).
        env = airflow_env(server, landing, private_home(airflow_db, tmp_path), SMS_TRACKING_TEST_RETRY_DELAY="5")
        with table_locked(server, "report", "SHARE"):
            run = DagsTest(SMPP_DAG, "2026-05-03", env, tmp_path / "run.log")
            waiting_backends(server, [run], relation_wait("report"))
            cluster.stop()  # fast shutdown: every session is terminated, the task's transaction with it
            cluster.start()  # same port: the retry finds the server where it was
            wait_until_ready(server)
        assert run.wait() == 0, run.tail()
        assert "AdminShutdown" in run.log.read_text(errors="replace")  # the shutdown ended the task's session
        state, tis = run.states()
        assert state == "success"
        assert tis["load_object[0]"] == ("success", 2)
        assert ("load_object[0]", 1, "failed") in run.history()  # the try the restart killed
        [(_, _, status, *_)] = source_objects(server, "smpp_main")
        assert status == "loaded"
        build_all(server)
        assert_equals_reference(server, reference)


def test_two_build_runs_at_once_in_two_airflow_processes_are_serialised_and_equal_one_run(
    dsn: str, landing: Path, reference: dict[str, Any], airflow_db: Path, tmp_path: Path
) -> None:
    load_all(dsn, (CAMPAIGN, *REPORT_SOURCES))
    # Each process has its own metadata DB: SQLite takes one writer at a time, and what is under test is
    # the tracking database the two runs share.
    home, other_home = private_home(airflow_db, tmp_path / "a"), private_home(airflow_db, tmp_path / "b")
    # No retries: each step must pass on its first try, the send-list export of ``prepare`` included
    # (see test_two_send_list_exports_at_once_both_succeed).
    settings = {"SMS_TRACKING_TEST_RETRIES": "0"}
    with psycopg.connect(dsn, autocommit=True) as gate:
        # Hold the build lock until both runs wait for it at their first step, so they really overlap.
        gate.execute("SELECT pg_advisory_lock(sms_tracking.build_lock())")
        runs = [
            DagsTest(BUILD_DAG, "2026-05-04", airflow_env(dsn, landing, home, **settings), tmp_path / "build-a.log"),
            DagsTest(
                BUILD_DAG, "2026-05-05", airflow_env(dsn, landing, other_home, **settings), tmp_path / "build-b.log"
            ),
        ]
        waiters = waiting_backends(dsn, runs, BUILD_LOCK_WAIT, count=2)
        gate.execute("SELECT pg_advisory_unlock(sms_tracking.build_lock())")
    assert len(waiters) == 2
    codes = [run.wait() for run in runs]  # a deadlock would fail a step (Postgres detects it) or hang
    assert codes == [0, 0], "\n\n".join(run.tail() for run in runs)
    for run in runs:
        state, tis = run.states()
        assert state == "success"
        assert {tis[step][0] for step in (*pipeline.BUILD_STEPS, "validate")} == {"success"}
        # Every step passed on its first try.
        assert all(tis[step][1] == 1 for step in (*pipeline.BUILD_STEPS, "validate")), tis
        assert "DeadlockDetected" not in run.log.read_text(errors="replace")
    assert_equals_reference(dsn, reference)


@pytest.fixture(scope="module")
def resent(
    postgres_server: str, template_dsn: str, airflow_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The SMPP file delivered a second time under another name; its ingest DAG run twice with the same
    logical date through Airflow, then the build."""
    folder = tmp_path_factory.mktemp("airflow-resent")
    landing = folder / "landing"
    shutil.copytree(sample_landing(), landing)
    smpp = landing / "reports" / "smpp_main"
    (smpp / "resent").mkdir()
    shutil.copy2(smpp / "receipts-part-0001.txt", smpp / "resent" / "receipts-part-0001.txt")
    dsn = fresh_database(postgres_server, template_dsn)
    home = private_home(airflow_db, folder)
    env = airflow_env(dsn, landing, home, SMS_TRACKING_TEST_RETRIES="0")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW__SMS_TRACKING__LANDING", str(landing))
        load_all(dsn, (CAMPAIGN, "twilio_callbacks", "twilio_api"))
        first = dags_test(SMPP_DAG, "2026-05-06", env, folder / "run1.log")
        assert first.proc.returncode == 0, first.tail()
        objects, tables = source_objects(dsn, "smpp_main"), snapshot(dsn)
        # One load task of that DAG run run again (what a retry does when a worker dies after the commit).
        run_id = first.run_id()
        with (folder / "task.log").open("w") as out:
            task = subprocess.run(
                [sys.executable, "-m", "airflow", "tasks", "test", SMPP_DAG, "load_object", run_id, "--map-index", "0"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=RUN_TIMEOUT,
            )
        task_result = xcom(home, SMPP_DAG, run_id, "load_object", 0) if task.returncode == 0 else None
        after_task = source_objects(dsn, "smpp_main"), snapshot(dsn)
        again = dags_test(SMPP_DAG, "2026-05-06", env, folder / "run2.log")
        build_all(dsn)
    return {
        "dsn": dsn,
        "first": first,
        "again": again,
        "objects": objects,
        "tables": tables,
        "task": task,
        "task_log": folder / "task.log",
        "task_result": task_result,
        "after_task": after_task,
    }


def test_the_same_run_rerun_and_the_same_file_under_two_names_store_no_report_twice(
    resent: dict[str, Any], reference: dict[str, Any]
) -> None:
    dsn, first, again = resent["dsn"], resent["first"], resent["again"]
    assert first.proc.returncode == 0, first.tail()
    assert first.states()[0] == "success"
    # Both names were loaded (in either order: Airflow runs the mapped loads in no set order); every line
    # of the one loaded second is a report already stored or a reject.
    objects = resent["objects"]
    assert sorted(Path(uri).parent.name for _, uri, *_ in objects) == ["resent", "smpp_main"]
    assert {status for _, _, status, *_ in objects} == {"loaded"}
    (read, loaded, merged, rejected), (read_first, loaded_first, *_) = sorted(row[3:] for row in objects)
    assert loaded == 0 and loaded_first > 0 and read == read_first and merged == read - rejected
    # A load task of that run run again finds its object loaded with the same checksum: skipped.
    assert resent["task"].returncode == 0, resent["task_log"].read_text()[-3000:]
    result = resent["task_result"]
    assert result["status"] == "skipped" and result["object_id"] in {row[0] for row in objects}
    assert resent["after_task"] == (objects, resent["tables"])
    # The re-run of the same logical date finds nothing new and changes nothing.
    assert again.proc.returncode == 0, again.tail()
    state, tis = again.states()
    assert state == "success"
    assert tis["load_object"] == ("skipped", 0)  # no object pending: the load task maps to nothing
    assert source_objects(dsn, "smpp_main") == resent["objects"]
    assert snapshot(dsn)["report"] == resent["tables"]["report"]
    # After the build: the tables of an undisturbed run and no report stored twice.
    tables = snapshot(dsn)
    for table, rows in reference["tables"].items():
        assert tables[table] == rows, f"{table} differs from the undisturbed run"
    figures = report_figures(dsn)
    # The copy that arrived under the later name (the smaller uri wins between equal arrivals) holds no
    # report. Its bad line is rejected once overall: by whichever name was loaded first, a duplicate of that
    # reject in the other (include/sql/load/reject.sql). So the totals do not depend on the order.
    assert figures == {
        "in": REPORTS_IN + read,
        "stored": REPORTS_STORED,
        "merged": REPORTS_MERGED + read,
        "rejected": REPORTS_REJECTED,
    }
    assert read == 513 and merged + rejected == read and rejected in (0, 1)
    assert figures["in"] == figures["stored"] + figures["merged"] + figures["rejected"]
    with psycopg.connect(dsn) as conn:
        assert conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM sms_tracking.report GROUP BY provider, provider_message_id, "
            "raw_status, error_code, event_at, raw_text HAVING count(*) > 1) d"
        ).fetchone() == (0,)


def test_the_same_file_under_two_names_rejects_its_bad_lines_once(
    resent: dict[str, Any], reference: dict[str, Any]
) -> None:
    assert snapshot(resent["dsn"])["reject"] == reference["tables"]["reject"]
    assert duplicates(resent["dsn"]) == 0


def test_two_send_list_exports_at_once_both_succeed(dsn: str, landing: Path) -> None:
    """What ``test_two_build_runs_at_once_…`` met through Airflow, made deterministic: both exports have
    opened ``send_lists/.<delivery>.csv.part`` when the test lets their COPY of the send list go on."""
    from sms_tracking.exclusions import export_send_lists

    load_all(dsn, (CAMPAIGN,))
    pipeline.build_step("prepare", run_id="test", dsn=dsn)  # prepares the send lists and exports them
    with psycopg.connect(dsn, autocommit=True) as conn:  # queue them again, as a second build would see them
        queued = conn.execute(
            "INSERT INTO sms_tracking.pending_export (delivery_id) "
            "SELECT DISTINCT delivery_id FROM sms_tracking.send_list"
        ).rowcount
    assert queued > 0
    errors: list[BaseException] = []

    def export() -> None:
        try:
            with closing(psycopg.connect(dsn)) as conn:
                export_send_lists(conn, str(landing))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=export) for _ in range(2)]
    with table_locked(dsn, "send_list", "ACCESS EXCLUSIVE"):
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 30
        with psycopg.connect(dsn, autocommit=True) as monitor:
            # Both exports wait (for the send list, or for each other once the export is serialised).
            while (
                sum(worker.is_alive() for worker in workers)
                > monitor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                ).fetchone()[0]
                and time.monotonic() < deadline
            ):  # type: ignore[index]
                time.sleep(0.02)
    for worker in workers:
        worker.join(30)
    assert not any(worker.is_alive() for worker in workers)
    if errors:
        raise errors[0]
    assert sorted(p.name for p in (landing / "send_lists").iterdir()) == sorted(
        f"{row}.csv" for row in {p.stem for p in (landing / "send_lists").glob("*.csv")}
    )


# --- failures a retry cannot fix (issue #16) ---------------------------------------------------------


def assert_failed_without_retry(run: DagsTest, task: str) -> None:
    """The run failed at ``task`` on its first try, and Airflow did not plan another (the DAGs retry twice;
    the tests' retry delay of 1 s would have let a retry happen within the run)."""
    assert run.wait() == 1, f"the run should fail:\n{run.tail()}"
    state, tis = run.states()
    assert state == "failed"
    assert tis[task] == ("failed", 1), tis
    assert run.history() == []  # no earlier try kept: none was up for retry
    assert "up_for_retry" not in run.log.read_text(errors="replace").lower()


def test_a_rejected_batch_fails_its_load_task_at_once(
    dsn: str, landing: Path, airflow_db: Path, tmp_path: Path
) -> None:
    # The SMPP file has one bad line: more than a reject rate of 0 allows.
    env = airflow_env(
        dsn,
        landing,
        private_home(airflow_db, tmp_path),
        AIRFLOW__SMS_TRACKING__MAX_REJECT_RATE="0",
        SMS_TRACKING_TEST_RETRY_DELAY="1",
    )
    run = DagsTest(SMPP_DAG, "2026-05-07", env, tmp_path / "run.log")
    assert_failed_without_retry(run, "load_object[0]")
    assert "BatchRejected" in run.log.read_text(errors="replace")
    [(_, _, status, *_)] = source_objects(dsn, "smpp_main")
    assert status == "rejected"


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("sources:\n  - name: smpp_main\n    provider: [smpp\n", "the sources file is unusable"),
        (
            "sources:\n  - {name: twilio_api, provider: twilio, format: twilio_json, path: reports/twilio_api}\n",
            "no source named 'smpp_main'",
        ),
    ],
    ids=["malformed", "source-removed"],
)
def test_a_sources_file_broken_after_parsing_fails_the_task_at_once(
    dsn: str, landing: Path, airflow_db: Path, tmp_path: Path, broken: str, message: str
) -> None:
    from sms_tracking import db, resources

    sources = tmp_path / "sources.yaml"
    shutil.copy(resources.config_dir() / "sources.yaml", sources)
    env = airflow_env(
        dsn,
        landing,
        private_home(airflow_db, tmp_path),
        AIRFLOW__SMS_TRACKING__SOURCES=str(sources),
        SMS_TRACKING_TEST_RETRY_DELAY="1",
    )
    lock = db._MIGRATION_LOCK  # the key prepare_database waits for
    with psycopg.connect(dsn, autocommit=True) as gate:
        # The DAG is parsed from the good file; the file breaks while its first task waits for this lock.
        gate.execute("SELECT pg_advisory_lock(%s)", (lock,))
        run = DagsTest(SMPP_DAG, "2026-05-08", env, tmp_path / "run.log")
        waiting_backends(dsn, [run], f"l.locktype = 'advisory' AND l.classid = 0 AND l.objid = {lock}")
        sources.write_text(broken)
        gate.execute("SELECT pg_advisory_unlock(%s)", (lock,))
    assert_failed_without_retry(run, "pending_objects")
    assert message in run.log.read_text(errors="replace")
