"""Faults on the way (issue #8): a killed connection or a restarted server in the middle of a load or a
build step, and two builds at once, leave the tables equal to those of an undisturbed run."""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.integration.test_pipeline import FILES
from tests.landing import SOURCES, build_all, load_all, prepare

from sms_tracking import ingest, pipeline

pytestmark = pytest.mark.integration

# A second SMPP file with enough lines that a fault can strike in the middle of it.
SMPP_BULK = "".join(
    f"id:A{i % 4 + 1} sub:001 dlvrd:000 submit date:2605041000 done date:2605041{i % 60:03d} stat:ENROUTE err:000 "
    f"text:bulk {i}\n"
    for i in range(200)
)
VOLATILE = {
    "report_id",
    "object_id",
    "received_at",
    "refreshed_at",
    "refreshed_by_run",
    "recorded_at",
    "event_id",
    "run_id",
    "built_at",
    "updated_at",
    "exported_at",
    "path",
    "uri",
    "task_id",
    "dag_id",
}
"""Columns that name the run, the file or a serial: they differ between two databases by construction."""
TABLES = (
    "report",
    "reject",
    "message",
    "delivery",
    "delivery_log",
    "delivery_summary",
    "qualification",
    "quarantine",
    "pending_message",
    "pending_delivery",
    "daily_provider",
    "delivery_failure_summary",
)
_names = itertools.count()


FILES_WITH_BULK = {**FILES, "reports/smpp_main/r2.txt": SMPP_BULK}


@pytest.fixture
def landing(make_landing: Callable[..., Path]) -> Path:
    return make_landing(FILES_WITH_BULK)


def fresh_database(server: str, template: str) -> str:
    """Another database cloned from the migrated template (the ``dsn`` fixture's recipe)."""
    name = f"sms_reliab_{os.getpid()}_{next(_names)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template.rsplit('/', 1)[-1]}")
    return template.rsplit("/", 1)[0] + "/" + name


def snapshot(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every business column of the tables a fault could duplicate or lose, sorted."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(dsn) as conn:
        for table in TABLES:
            columns = [
                c
                for (c,) in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'sms_tracking' "
                    "AND table_name = %s ORDER BY ordinal_position",
                    (table,),
                ).fetchall()
                if c not in VOLATILE
            ]
            rows = conn.execute(f"SELECT {', '.join(columns)} FROM sms_tracking.{table}").fetchall()
            tables[table] = sorted(rows, key=repr)
    return tables


def duplicates(dsn: str) -> int:
    """Reports stored more than once (same provider, id, status, code and time) plus rejects stored twice."""
    with psycopg.connect(dsn) as conn:
        report = conn.execute(
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM sms_tracking.report "
            "GROUP BY provider, provider_message_id, raw_status, error_code, event_at, raw_text) d"
        ).fetchone()
        reject = conn.execute(
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM sms_tracking.reject r "
            "JOIN sms_tracking.source_object o USING (object_id) GROUP BY o.checksum, r.position) d"
        ).fetchone()
    return int(report[0]) + int(reject[0])  # type: ignore[index]


@pytest.fixture(scope="module")
def reference(postgres_server: str, template_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tables after an undisturbed load and build of the same landing, in a database of their own."""
    dsn = fresh_database(postgres_server, template_dsn)
    with pytest.MonkeyPatch.context() as mp:
        prepare(mp, tmp_path_factory.mktemp("reference"), FILES_WITH_BULK)
        load_all(dsn)
        build_all(dsn)
    return snapshot(dsn)


def kill_after(lines: int, strike: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the next decoded object call ``strike`` after ``lines`` lines (once); returns the hits.

    ``monkeypatch`` should be a context of its own: undoing it restores the decoder only."""
    original = ingest.decode_lines
    hits: list[int] = []

    def decode(stream: Any, gzipped: bool = False) -> Iterator[Any]:
        for count, item in enumerate(original(stream, gzipped), start=1):
            if count == lines and not hits:
                hits.append(count)
                strike()
            yield item

    monkeypatch.setattr(ingest, "decode_lines", decode)
    return hits


def terminate_others(dsn: str) -> None:
    """Kill every other backend on the database, as an operator or a failover would."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def stored_objects(dsn: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT source, status FROM sms_tracking.source_object ORDER BY 1").fetchall()


def test_connection_killed_mid_load_stores_nothing_and_the_retry_equals_an_undisturbed_run(
    dsn: str, landing: Path, reference: dict[str, Any]
) -> None:
    for source in ("campaign", "smpp_main"):
        uri = pipeline.pending_objects(source, dsn)[-1]  # a campaign CSV; r2.txt (200 lines)
        with pytest.MonkeyPatch.context() as mp:
            hits = kill_after(3 if source == "campaign" else 100, lambda: terminate_others(dsn), mp)
            with pytest.raises(psycopg.OperationalError):
                pipeline.load(source, uri, dsn=dsn)
        assert hits, "the fault was not injected"
        assert (source, "loaded") not in stored_objects(dsn)  # the object's transaction was rolled back whole
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM sms_tracking.report").fetchone() == (0,)
    load_all(dsn)  # the retry
    build_all(dsn)
    assert snapshot(dsn) == reference
    assert duplicates(dsn) == 0


@pytest.mark.parametrize("step", pipeline.BUILD_STEPS)
def test_connection_killed_mid_build_step_fails_it_and_the_rerun_equals_an_undisturbed_run(
    dsn: str, landing: Path, reference: dict[str, Any], step: str
) -> None:
    load_all(dsn)
    index = pipeline.BUILD_STEPS.index(step)
    build_all(dsn, steps=pipeline.BUILD_STEPS[:index])
    errors: list[BaseException] = []
    # Hold the build lock so the step waits inside its transaction, then kill it there.
    with psycopg.connect(dsn, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(sms_tracking.build_lock())")

        def run() -> None:
            try:
                pipeline.build_step(step, run_id="test", dsn=dsn)
            except BaseException as exc:
                errors.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + 20
        killed = False
        while time.monotonic() < deadline and not killed:
            killed = bool(
                holder.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
                ).fetchall()
            )
            time.sleep(0.02)
        holder.execute("SELECT pg_advisory_unlock(sms_tracking.build_lock())")
        worker.join(20)
    assert killed and not worker.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], psycopg.OperationalError)
    build_all(dsn, steps=pipeline.BUILD_STEPS[index:])  # the retry of the failed task and the tasks after it
    assert snapshot(dsn) == reference
    assert duplicates(dsn) == 0


@contextlib.contextmanager
def dedicated_cluster(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    """A Postgres cluster of the test's own, migrated, that the test may stop and start; destroyed after."""
    from sms_tracking_dev.local_postgres import LocalPostgres, wait_until_ready

    folder = tmp_path / "pg"
    folder.mkdir()
    tmp_path.chmod(0o755)
    folder.chmod(0o755)
    cluster = LocalPostgres(folder / "cluster")
    server = cluster.start()
    try:
        wait_until_ready(server)
        pipeline.prepare_database(server)
        yield cluster, server
    finally:
        cluster.destroy()


def test_postgres_restarted_mid_load_the_retry_equals_an_undisturbed_run(
    tmp_path: Path, landing: Path, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sms_tracking_dev.local_postgres import wait_until_ready

    with dedicated_cluster(tmp_path) as (cluster, server):
        monkeypatch.setenv("SMS_TRACKING_DSN", server)
        load_all_but = [(s, u) for s in SOURCES for u in pipeline.pending_objects(s, server)]
        for source, uri in load_all_but:
            if source == "smpp_main" and uri.endswith("r2.txt"):
                with pytest.MonkeyPatch.context() as mp:
                    hits = kill_after(100, cluster.stop, mp)
                    with pytest.raises(psycopg.OperationalError):
                        pipeline.load(source, uri, dsn=server)
                assert hits
                cluster.start()  # same port: the retry finds the server where it was
                wait_until_ready(server)
                continue
            pipeline.load(source, uri, dsn=server)
        assert ("smpp_main", "loaded") in stored_objects(server)
        load_all(server)  # the retry
        build_all(server)
        assert snapshot(server) == reference
        assert duplicates(server) == 0


def test_two_builds_at_once_are_serialised_without_deadlock_or_lost_update(
    dsn: str, landing: Path, reference: dict[str, Any]
) -> None:
    (landing / "reports" / "smpp_main" / "r2.txt").rename(landing / "r2.later")
    load_all(dsn)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(3):
                build_all(dsn)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(2)]
    for worker in workers:
        worker.start()
    # New reports arrive while both builds run.
    (landing / "r2.later").rename(landing / "reports" / "smpp_main" / "r2.txt")
    load_all(dsn)
    for worker in workers:
        worker.join(60)
    assert not any(worker.is_alive() for worker in workers), "deadlock: a build did not finish in 60 s"
    assert errors == []
    build_all(dsn)  # the next scheduled run
    assert snapshot(dsn) == reference
    assert duplicates(dsn) == 0
