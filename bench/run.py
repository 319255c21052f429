"""Benchmark of issues #7 and #19: the full pipeline against a bare COPY and a naive pandas DAG, on the same data.

Every measured piece of work runs in its own child process, the way Airflow runs a task, and the
parent reads that child's peak RSS from ``os.wait4`` (``getrusage`` of exactly that child). A child
first imports Airflow's task runtime, which an Airflow worker has loaded before it forks a task (the
Local and Celery executors fork task processes on Linux), then starts its clocks: the times in the table
are the task's own, the task's imports (psycopg, Great Expectations...) included. The whole process,
interpreter start and Airflow import included, is kept beside them ("process"). All three variants read
the same generated landing folder and write into fresh databases of the same server.

Usage (see bench/README.md)::

    python bench/run.py --messages 1000000               # the three variants, a table with ratios
    python bench/run.py --messages 1000000 --incremental --ui
    python bench/run.py --messages 1000000 --history-copies 10 --incremental --ui --cold --floors \\
        --data-dir /var/tmp/bench10m/data --pg-dir /var/tmp/bench10m/pg       # every row of issue 19
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

PROJECT = Path.cwd()
"""``python bench/run.py`` runs from the top of the checkout, as the README says."""
PLUGINS = PROJECT / "plugins"
for _folder in (PLUGINS, PROJECT / "tools"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

VARIANTS = ("copy", "naive", "pipeline")
RUN_ID = "bench__full"
INCREMENTAL_REPORTS = 10_000
# Issue 19's targets, ratios within one run (never relaxed here: a missed row shows its floor instead).
NAIVE_TARGET = 2.0
"""The full pipeline at least this many times faster than the naive peer, wall and CPU."""
PIPELINE_TARGET = 15.0
"""The full pipeline at most this many times the bare COPY."""
INGEST_TARGET = 4.0
BUILD_TARGET = 6.0
VALIDATION_TARGET = 2.0
HISTORY_TARGET = 1.5
"""10k reports on the 10M history, cold, over the same on a 100k history, cold."""
UI_TARGET_MS = 150.0
MEMORY_TARGET_MB = 1024
GX_CRITICAL_S = 0.1
"""A task that waits less than this for the Great Expectations import has it off its critical path."""
COPY_SQL = "COPY bench_raw (line) FROM STDIN WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"
"""One column per line, as written: a delimiter and a quote that never occur in the data."""
REPORT_KINDS = ("reports/smpp_main", "reports/twilio_callbacks", "reports/twilio_api")
LANDING_KINDS = ("deliveries", "targets", "sends", "clicks", "inbound", *REPORT_KINDS)


# --- Child processes ------------------------------------------------------------------------------------


@dataclass
class Child:
    """One finished child process: what it returned, how long it took, its peak resident memory."""

    name: str
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    result: Any = None
    task_started: float = 0.0
    task_finished: float = 0.0
    task_cpu_seconds: float = 0.0


def _child_argv(task: str, args_file: Path, out_file: Path) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--task",
        task,
        "--task-args",
        str(args_file),
        "--task-out",
        str(out_file),
    ]


def run_children(task: str, jobs: Sequence[dict[str, Any]], env: dict[str, str], work: Path) -> list[Child]:
    """Run one child per job at the same time; each child's rusage comes from ``os.wait4`` on its pid."""
    started = time.monotonic()
    running: dict[int, tuple[int, subprocess.Popen[bytes], Path, Path]] = {}
    for index, job in enumerate(jobs):
        stem = f"{task}-{index}-{time.monotonic_ns()}"
        args_file, out_file, log_file = (work / f"{stem}.{ext}" for ext in ("args.json", "out.json", "log"))
        args_file.write_text(json.dumps(job))
        with log_file.open("wb") as log:
            proc = subprocess.Popen(
                _child_argv(task, args_file, out_file), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT
            )
        running[proc.pid] = (index, proc, out_file, log_file)
    children: list[Child | None] = [None] * len(jobs)
    while running:
        pid, status, usage = os.wait4(-1, 0)
        if pid not in running:
            continue
        index, proc, out_file, log_file = running.pop(pid)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            for other in running.values():
                other[1].kill()
            tail = log_file.read_text(errors="replace").splitlines()[-30:]
            raise RuntimeError(f"bench task {task} #{index} exited {proc.returncode}:\n" + "\n".join(tail))
        # Linux reports ru_maxrss in KiB.
        out = json.loads(out_file.read_text())
        children[index] = Child(
            task,
            time.monotonic() - started,
            usage.ru_maxrss / 1024,
            usage.ru_utime + usage.ru_stime,
            out["result"],
            out["task_started"],
            out["task_finished"],
            out["task_cpu_s"],
        )
    return [c for c in children if c is not None]


def run_child(task: str, job: dict[str, Any], env: dict[str, str], work: Path) -> Child:
    return run_children(task, [job], env, work)[0]


TASKS: dict[str, Callable[[dict[str, Any]], Any]] = {}


def task(function: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    TASKS[function.__name__.removeprefix("task_")] = function
    return function


# --- Variant 1: the limit, a bare COPY ------------------------------------------------------------------


@task
def task_copy(args: dict[str, Any]) -> dict[str, Any]:
    """Stream each file's bytes into an unlogged one-column table: no parsing, no transformation."""
    import psycopg

    with psycopg.connect(args["dsn"]) as conn:
        for path in args["files"]:
            with conn.cursor() as cur, cur.copy(COPY_SQL) as copy, open(path, "rb") as stream:
                while block := stream.read(1 << 20):
                    copy.write(block)
            conn.commit()
    return {"files": len(args["files"])}


# --- Variant 2: the naive peer, pandas and DataFrame.to_sql ---------------------------------------------

SMPP_RECEIPT = (
    r"id:(?P<id>\S+) sub:(?P<sub>\d+) dlvrd:(?P<dlvrd>\d+) submit date:(?P<submit_date>\d+) "
    r"done date:(?P<done_date>\d+) stat:(?P<stat>\w+) err:(?P<err>\w+) text:(?P<text>.*)"
)


@task
def task_naive(args: dict[str, Any]) -> dict[str, Any]:
    """What a typical DAG does: read each file into a DataFrame, then ``to_sql`` with the defaults."""
    import pandas as pd
    import sqlalchemy
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    engine = sqlalchemy.create_engine(sqlalchemy_url(args["dsn"]))
    rows = 0
    for kind, path in args["files"]:
        frame = naive_frame(pd, kind, Path(path))
        table = "naive_" + kind.replace("reports/", "").replace("/", "_")
        for attempt in range(3):
            try:
                frame.to_sql(table, engine, if_exists="append", index=False)
                break
            except (ProgrammingError, IntegrityError):
                # Two workers created the same table at once; the DAG would retry the task.
                if attempt == 2:
                    raise
        rows += len(frame)
    engine.dispose()
    return {"rows": rows}


def naive_frame(pd: Any, kind: str, path: Path) -> Any:
    """Parse one landing file the usual pandas way (read_csv, read_json, a regex, parse_qsl)."""
    from urllib.parse import parse_qsl

    if kind == "reports/smpp_main":
        lines = pd.read_csv(path, sep="\x01", header=None, names=["line"], quoting=3, dtype=str)
        frame = lines["line"].str.extract(SMPP_RECEIPT)
        for column in ("submit_date", "done_date"):
            frame[column] = pd.to_datetime(frame[column], format="%y%m%d%H%M", errors="coerce")
        return frame
    if kind == "reports/twilio_callbacks":
        with path.open(encoding="utf-8") as stream:
            return pd.DataFrame.from_records([dict(parse_qsl(line.strip())) for line in stream])
    if kind == "reports/twilio_api":
        # pd.read_json(lines=True) gives up on the first broken line, so a DAG reads them one by one.
        records = []
        with path.open(encoding="utf-8") as stream:
            for line in stream:
                with contextlib.suppress(ValueError):
                    records.append(json.loads(line))
        frame = pd.DataFrame.from_records(records)
        for column in ("date_created", "date_sent", "date_updated"):
            frame[column] = pd.to_datetime(frame[column], format="mixed", errors="coerce", utc=True)
        return frame
    return pd.read_csv(path, dtype=str)


def sqlalchemy_url(dsn: str) -> str:
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", dsn)


# --- Variant 3: this project's pipeline, task by task ----------------------------------------------------


@task
def task_prepare(args: dict[str, Any]) -> Any:
    from sms_tracking.pipeline import prepare_database

    return prepare_database()


@task
def task_pending(args: dict[str, Any]) -> list[tuple[str, str]]:
    """The ``pending_objects`` task of every ingest DAG: what is new in the landing folder."""
    from sms_tracking.config import load_sources
    from sms_tracking.pipeline import CAMPAIGN_SOURCE, pending_objects

    return [
        (source, uri)
        for source in (CAMPAIGN_SOURCE, *(s.name for s in load_sources()))
        for uri in pending_objects(source)
    ]


@task
def task_load(args: dict[str, Any]) -> dict[str, Any]:
    """A worker running ``load_object`` tasks one after the other; a deadlock is retried like a task retry."""
    import psycopg

    from sms_tracking.audit import RunInfo
    from sms_tracking.ingest import BatchRejected
    from sms_tracking.pipeline import load

    totals = {
        "objects": 0,
        "rows_read": 0,
        "rows_loaded": 0,
        "rows_duplicate": 0,
        "rows_rejected": 0,
        "retries": 0,
        "batches_rejected": 0,
    }
    for source, uri in args["objects"]:
        for attempt in range(3):
            try:
                result = load(source, uri, RunInfo(f"sms_tracking_ingest_{source}", args["run_id"], "load_object"))
                break
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                totals["retries"] += 1
                if attempt == 2:
                    raise
            except BatchRejected:
                totals["batches_rejected"] += 1
                result = {}
                break
        totals["objects"] += 1
        for key in ("rows_read", "rows_loaded", "rows_duplicate", "rows_rejected"):
            totals[key] += result.get(key, 0)
    return totals


@task
def task_build(args: dict[str, Any]) -> Any:
    from sms_tracking.pipeline import build_step

    return build_step(args["step"], run_id=args["run_id"], dag_id="sms_tracking_build")


@task
def task_validate(args: dict[str, Any]) -> Any:
    from sms_tracking.quality import ValidationFailed, validate_run

    with gx_import_clock() as gx_import:
        try:
            outcome = validate_run(args["run_id"])
        except ValidationFailed as failed:
            outcome = {"validation_failed": str(failed)[:2000]}
    return {**outcome, "gx_import": gx_import} if isinstance(outcome, dict) else outcome


@contextlib.contextmanager
def gx_import_clock() -> Iterator[dict[str, Any]]:
    """How long importing Great Expectations took inside the task, in which thread, and how long the task's
    main thread waited for it: the part of the import on validate's critical path.

    The first ``import great_expectations`` is timed by a meta-path finder that wraps its loader; a main
    thread that imports it itself waits for all of it, one that joins the importing thread waits for the
    join. Nothing of the project is changed: the figures are read around its code.
    """
    import importlib.abc
    import importlib.machinery
    import threading

    found: dict[str, Any] = {"seconds": 0.0, "thread": None, "main_thread_wait_s": 0.0}
    main = threading.main_thread()

    class Clock(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
            if name != "great_expectations" or found["thread"] is not None:
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is None or spec.loader is None:
                return None
            loader = spec.loader
            exec_module = loader.exec_module  # type: ignore[attr-defined]

            def timed(module: Any) -> None:
                found["thread"] = threading.current_thread().name
                started = time.monotonic()
                try:
                    exec_module(module)
                finally:
                    found["seconds"] = time.monotonic() - started
                    if threading.current_thread() is main:
                        found["main_thread_wait_s"] += found["seconds"]

            loader.exec_module = timed  # type: ignore[attr-defined]
            return spec

    join = threading.Thread.join

    def timed_join(thread: threading.Thread, timeout: float | None = None) -> None:
        started = time.monotonic()
        join(thread, timeout)
        if threading.current_thread() is main and thread.name == found["thread"]:
            found["main_thread_wait_s"] += time.monotonic() - started

    clock = Clock()
    sys.meta_path.insert(0, clock)
    threading.Thread.join = timed_join  # type: ignore[method-assign]
    try:
        yield found
    finally:
        sys.meta_path.remove(clock)
        threading.Thread.join = join  # type: ignore[method-assign]


# --- Incremental run: new reports for messages already in a large history --------------------------------


@task
def task_incremental_files(args: dict[str, Any]) -> dict[str, Any]:
    """Write final reports for the latest messages sent, as providers send them hours later: one new SMPP
    file and one new Twilio callback file. The latest sends, not pending messages from anywhere in the
    history: a day's reports are about the day's deliveries, and the build's work is per delivery touched.
    The latest that no earlier incremental run reported on: a reused history would otherwise give the same
    messages one more report a run, and each run would read more reports than the first."""
    from zoneinfo import ZoneInfo

    import psycopg

    paris = ZoneInfo("Europe/Paris")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    landing = Path(args["landing"])
    with psycopg.connect(args["dsn"]) as conn:
        rows = conn.execute(
            """SELECT l.provider, l.provider_message_id, l.phone_e164, l.submitted_at, l.segments,
                      left(coalesce(d.content, ''), 20)
                 FROM sms_tracking.delivery_log l LEFT JOIN sms_tracking.delivery d USING (delivery_id)
                WHERE l.provider IN ('smpp', 'twilio')
                  AND NOT EXISTS (
                        SELECT 1 FROM sms_tracking.report r JOIN sms_tracking.source_object o USING (object_id)
                         WHERE (r.provider, r.provider_message_id) = (l.provider, l.provider_message_id)
                           AND o.uri LIKE '%%/incremental-%%')
                ORDER BY l.submitted_at DESC, l.provider, l.provider_message_id LIMIT %s""",
            (args["reports"],),
        ).fetchall()
    smpp: list[str] = []
    twilio: list[str] = []
    for provider, pmid, phone, submitted, segments, text in rows:
        # Hours later, and a few minutes more on each run, so a repeated incremental run brings new reports
        # (same message, other done date), not copies of the last run's.
        done = submitted + timedelta(hours=6, minutes=int(time.time() // 60) % 600)
        if provider == "smpp":
            smpp.append(
                f"id:{pmid} sub:{segments:03d} dlvrd:{segments:03d} "
                f"submit date:{submitted.astimezone(paris):%y%m%d%H%M} done date:{done.astimezone(paris):%y%m%d%H%M} "
                f"stat:DELIVRD err:000 text:{text.rstrip()}"
            )
        else:
            to = (phone or "").replace("+", "%2B")
            twilio.append(
                f"MessageSid={pmid}&SmsSid={pmid}&To={to}&MessageStatus=delivered&SmsStatus=delivered"
                f"&RawDlrDoneDate={done.astimezone(UTC):%y%m%d%H%M}&ApiVersion=2010-04-01"
            )
    written = []
    for kind, lines in (("reports/smpp_main", smpp), ("reports/twilio_callbacks", twilio)):
        if lines:
            path = landing / kind / f"incremental-{stamp}.txt"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            written.append(str(path))
    return {"reports": len(rows), "smpp": len(smpp), "twilio": len(twilio), "files": written}


# --- History: the database an incremental run lands on ------------------------------------------------

HISTORY_TABLES = (
    "delivery",
    "target",
    "message",
    "report",
    "delivery_log",
    "delivery_summary",
    "exclusion",
    "send_list",
    "click",
    "quarantine_event",
    "tracking_log",
    "tracked_url",
    "audit_event",
    "summary_delivery_day",
    "delivery_failure_summary",
    "delivery_exclusion_summary",
    "delivery_url_summary",
    "daily_provider",
    "daily_country",
    "daily_failure_reason",
)
"""The tables whose rows belong to a delivery or a day: what grows with the history."""
HISTORY_KEYS = (
    "delivery_id",
    "provider_message_id",
    "recipient_id",
    "click_key",
    "inbound_key",
    "tracking_token",
    "event_key",
)


@task
def task_history(args: dict[str, Any]) -> dict[str, Any]:
    """Grow the loaded database to ``copies`` times its deliveries: each copy of every delivery-keyed row gets
    its keys suffixed and its times moved back by whole spans of the data, set-based, copy after copy.

    Loading 10M messages through the pipeline would take hours of this machine; the incremental target is
    about how the build's work grows with history, which needs the rows and their indexes, not their story.
    """
    import psycopg

    started = time.monotonic()
    with psycopg.connect(args["dsn"], autocommit=True) as conn:
        span_days = int(
            conn.execute(
                "SELECT ceil(extract(epoch FROM max(submitted_at) - min(submitted_at)) / 86400) + 2 "
                "FROM sms_tracking.message"
            ).fetchone()[0]
            or 1
        )
        columns = conn.execute(
            """SELECT table_name, column_name, data_type, coalesce(column_default, '') LIKE 'nextval%%'
                 FROM information_schema.columns
                WHERE table_schema = 'sms_tracking' AND table_name = ANY(%s) AND is_generated = 'NEVER'
                ORDER BY table_name, ordinal_position""",
            (list(HISTORY_TABLES),),
        ).fetchall()
        first_day = conn.execute("SELECT min(submitted_at)::date - 1 FROM sms_tracking.message").fetchone()[0]
        by_table: dict[str, list[tuple[str, str, bool]]] = {}
        for table, column, data_type, serial in columns:
            by_table.setdefault(table, []).append((column, data_type, serial))
        for copy in range(1, args["copies"]):
            shift = copy * span_days
            # Each copy has landing objects of its own, as a real history does: a table's rows of one object
            # id are one file's, which is what the planner's statistics on object_id must see.
            conn.execute("DROP TABLE IF EXISTS history_object")
            conn.execute(
                "CREATE TEMP TABLE history_object (old_id bigint PRIMARY KEY, new_id bigint NOT NULL) ON COMMIT "
                "PRESERVE ROWS"
            )
            conn.execute(
                "INSERT INTO history_object SELECT object_id, nextval('sms_tracking.source_object_object_id_seq') "
                "FROM sms_tracking.source_object WHERE uri NOT LIKE '%~h%' ORDER BY object_id"
            )
            conn.execute(
                f"INSERT INTO sms_tracking.source_object (object_id, source, kind, uri, checksum, size_bytes, status, "
                f"rows_read, rows_loaded, rows_duplicate, rows_rejected, started_at, finished_at, dag_id, run_id, "
                f"task_id, qualified_at, audited_at, modified_at) "
                f"SELECT h.new_id, source, kind, uri || '~h{copy}', checksum, size_bytes, status, rows_read, "
                f"rows_loaded, rows_duplicate, rows_rejected, started_at - interval '{shift} days', "
                f"finished_at - interval '{shift} days', dag_id, run_id, task_id, "
                f"qualified_at - interval '{shift} days', audited_at - interval '{shift} days', "
                f"modified_at - interval '{shift} days' "
                f"FROM sms_tracking.source_object o JOIN history_object h ON h.old_id = o.object_id"
            )
            # Validated like their originals: the history is validated history, not the next run's scope.
            conn.execute(
                f"INSERT INTO sms_tracking.validated_object (object_id, run_id, validated_at) "
                f"SELECT h.new_id, v.run_id, v.validated_at - interval '{shift} days' "
                f"FROM sms_tracking.validated_object v JOIN history_object h ON h.old_id = v.object_id"
            )
            conn.execute("ANALYZE history_object")
            for table in HISTORY_TABLES:
                names, values = [], []
                for column, data_type, serial in by_table[table]:
                    if serial:
                        continue
                    names.append(column)
                    if column in HISTORY_KEYS:
                        values.append(f"{column} || '~h{copy}'")
                    elif column == "object_id":
                        values.append("(SELECT h.new_id FROM history_object h WHERE h.old_id = object_id)")
                    elif data_type == "timestamp with time zone":
                        values.append(f"{column} - interval '{shift} days'")
                    elif data_type == "date":
                        values.append(f"{column} - {shift}")
                    else:
                        values.append(column)
                # The originals only: their keys carry no copy suffix, their days are the data's.
                key = next((k for k in ("delivery_id", "provider_message_id") if k in names), None)
                original = f"{key} NOT LIKE '%~h%'" if key else f"day >= '{first_day}'"
                conn.execute(
                    f"INSERT INTO sms_tracking.{table} ({', '.join(names)}) "
                    f"SELECT {', '.join(values)} FROM sms_tracking.{table} WHERE {original} "
                    "ON CONFLICT DO NOTHING"
                )
            print(f"    history copy {copy + 1}/{args['copies']} in {time.monotonic() - started:.0f} s", flush=True)
        replay_quarantine(conn)
        print(f"    quarantine replayed in {time.monotonic() - started:.0f} s", flush=True)
        conn.execute("VACUUM ANALYZE")
        messages = conn.execute("SELECT count(*) FROM sms_tracking.delivery_log").fetchone()[0]
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {
        "messages": messages,
        "copies": args["copies"],
        "span_days": span_days,
        "database_bytes": size,
        "seconds": time.monotonic() - started,
    }


def replay_quarantine(conn: Any) -> None:
    """Replay every number from its events, as the build does for a number it replays: the copies' events share
    the originals' numbers, so each number's state and history must be those of all its events (a history whose
    stored transitions miss the copies' makes the next replay rewrite them all, and re-summarise their
    deliveries)."""
    from sms_tracking.quarantine import QuarantineConfig

    params = QuarantineConfig.from_settings().sql_params()
    conn.execute(
        "INSERT INTO sms_tracking.pending_quarantine_replay (phone_e164) "
        "SELECT DISTINCT phone_e164 FROM sms_tracking.quarantine_event"
        " ON CONFLICT (phone_e164) DO UPDATE SET since = NULL"
    )
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(sms_tracking.build_lock())")
        conn.execute(
            "SELECT sms_tracking.quarantine_apply(%(error_threshold)s, "
            "make_interval(secs => %(significant_error_period)s), make_interval(secs => %(with_errors_release)s), "
            "make_interval(secs => %(mailbox_full_release)s))",
            params,
        )
        # The replay's removed and rewritten transitions are the history's own, seen by no build step: no
        # delivery to re-summarise (include/sql/build/tracking.sql reads what is past its watermark).
        conn.execute("DELETE FROM sms_tracking.pending_history_removed")
        conn.execute(
            "INSERT INTO sms_tracking.build_watermark AS w (name, last_id) "
            "SELECT 'quarantine_history', max(id) FROM sms_tracking.quarantine_history HAVING max(id) IS NOT NULL "
            "ON CONFLICT (name) DO UPDATE SET last_id = GREATEST(w.last_id, excluded.last_id)"
        )


# --- UI latency --------------------------------------------------------------------------------------------


UI_ROUTES = (
    "GET /api/deliveries",
    "GET /api/deliveries?sort&offset",
    "GET /api/deliveries/choices",
    "GET /api/deliveries/{id}",
    "GET /api/deliveries/{id}/sms",
    "GET /api/deliveries/{id}/log",
    "GET /api/deliveries/{id}/log?sort&offset",
    "GET /api/deliveries/{id}/tracking",
    "GET /api/deliveries/{id}/exclusions",
    "GET /api/deliveries/{id}/audit",
    "GET /api/quarantine",
    "GET /api/quarantine?offset",
    "GET /api/quarantine/{phone}",
    "GET /api/qualification",
    "GET /api/quality",
)
"""Every JSON route of the plugin's UI that reads the pipeline's tables (plugins/sms_tracking/ui/routes/api.py)."""


@task
def task_ui(args: dict[str, Any]) -> dict[str, Any]:
    """p50/p95/max of the plugin's JSON endpoints, through the real app with an overridden Airflow user.

    Warm (default): three requests of each route first (imports, templates, plans, and the data they read).
    Cold (``args["cold"]``): the parent dropped the caches just before this process started; only ``/api/me``
    (no pipeline table) warms the process, and each request of the series asks for another delivery, number or
    page, so the series reads from the disk what it has not read itself.
    """
    import random
    from unittest import mock

    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    from sms_tracking.ui import auth
    from sms_tracking.ui.app import create_app

    ids, phones, numbers = args["ids"], args["phones"], args["numbers"]
    picker = random.Random(7)
    requests = args["requests"]
    # Without replacement: a cold series must not ask twice for what it has already read.
    delivery_ids = iter(picker.sample(ids, len(ids)) * (requests // max(1, len(ids)) + 2))
    phone_ids = iter(picker.sample(phones, len(phones)) * (requests // max(1, len(phones)) + 2))

    def sort_offset(sorts: Sequence[str], rows: int) -> str:
        return (
            f"sort={picker.choice(sorts)}&dir={picker.choice(['asc', 'desc'])}"
            f"&offset={picker.randrange(0, max(1, rows - 50))}"
        )

    endpoints: dict[str, Callable[[], str]] = {
        "GET /api/deliveries": lambda: "/api/deliveries",
        "GET /api/deliveries?sort&offset": lambda: (
            f"/api/deliveries?{sort_offset(['created_at', 'success_rate', 'name'], len(ids))}"
        ),
        "GET /api/deliveries/choices": lambda: "/api/deliveries/choices",
        "GET /api/deliveries/{id}": lambda: f"/api/deliveries/{next(delivery_ids)}",
        "GET /api/deliveries/{id}/sms": lambda: f"/api/deliveries/{next(delivery_ids)}/sms",
        "GET /api/deliveries/{id}/log": lambda: f"/api/deliveries/{next(delivery_ids)}/log",
        "GET /api/deliveries/{id}/log?sort&offset": lambda: (
            f"/api/deliveries/{next(delivery_ids)}/log?{sort_offset(['submitted_at', 'status'], 150)}"
        ),
        "GET /api/deliveries/{id}/tracking": lambda: f"/api/deliveries/{next(delivery_ids)}/tracking",
        "GET /api/deliveries/{id}/exclusions": lambda: f"/api/deliveries/{next(delivery_ids)}/exclusions",
        "GET /api/deliveries/{id}/audit": lambda: f"/api/deliveries/{next(delivery_ids)}/audit",
        "GET /api/quarantine": lambda: "/api/quarantine",
        "GET /api/quarantine?offset": lambda: f"/api/quarantine?offset={picker.randrange(0, max(1, numbers - 50))}",
        "GET /api/quarantine/{phone}": lambda: f"/api/quarantine/{next(phone_ids).replace('+', '%2B')}",
        "GET /api/qualification": lambda: "/api/qualification",
        "GET /api/quality": lambda: "/api/quality",
    }
    app = create_app()
    user = SimpleAuthManagerUser(username="bench", role="admin")
    app.dependency_overrides[auth.get_user] = lambda: user
    results: dict[str, Any] = {"deliveries": len(ids), "numbers_in_quarantine": numbers}
    with mock.patch("airflow.api_fastapi.core_api.security.get_auth_manager", return_value=SimpleAuthManager()):
        client = TestClient(app)
        for _ in range(3):
            client.get("/api/me")  # imports, the app, a first connection: no pipeline table read
        for name in args.get("routes") or UI_ROUTES:
            url = endpoints[name]
            if not args.get("cold"):
                for _ in range(3):
                    client.get(url())  # warm-up: imports, template and plan caches
            timings = []
            for _ in range(requests):
                target = url()
                started = time.perf_counter()
                response = client.get(target)
                timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"{target}: HTTP {response.status_code} {response.text[:300]}")
            timings.sort()
            results[name] = {
                "requests": requests,
                "p50_ms": percentile(timings, 0.50),
                "p95_ms": percentile(timings, 0.95),
                "max_ms": timings[-1],
            }
    return results


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks, like numpy's default."""
    if not sorted_values:
        return float("nan")
    position = (len(sorted_values) - 1) * q
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


# --- The parent: data, databases, stages, the table ------------------------------------------------------


@dataclass
class Stage:
    """One step, measured: wall time, CPU of its tasks and of the Postgres server, peak RSS; the wall
    time and CPU of its whole processes (interpreter start and Airflow import included) beside them."""

    name: str
    seconds: float
    client_cpu_s: float
    server_cpu_s: float | None
    peak_rss_mb: float
    detail: str = ""
    process_seconds: float = 0.0
    process_cpu_s: float = 0.0
    blks_read: int | None = None


@dataclass
class Variant:
    key: str
    label: str
    seconds: float
    client_cpu_s: float
    server_cpu_s: float | None
    peak_rss_mb: float
    rows: int
    stages: list[Stage] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    process_seconds: float = 0.0
    process_cpu_s: float = 0.0

    @property
    def cpu_s(self) -> float | None:
        return None if self.server_cpu_s is None else self.client_cpu_s + self.server_cpu_s


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POSTMASTER_PID: int | None = None
CLUSTER: Any = None
"""The private cluster (``LocalPostgres``), which a cold-cache measurement restarts; None for --dsn."""
"""The private cluster's postmaster, whose CPU (and its reaped backends') is the database's CPU."""


def _cpu_ticks(stat: str) -> tuple[int, int]:
    """(ppid, utime + stime + cutime + cstime) from a /proc/<pid>/stat line."""
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1]), sum(int(f) for f in fields[11:15])


def server_cpu() -> float | None:
    """CPU seconds the database server used so far: the postmaster, its reaped children, its live ones.

    A machine shared with other work stretches wall times; CPU seconds are the cost that does not
    depend on what else runs. Unknown (None) for a server given with --dsn.
    """
    if POSTMASTER_PID is None:
        return None
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            pid = int(stat.parent.name)
            ppid, used = _cpu_ticks(text)
            if pid == POSTMASTER_PID or ppid == POSTMASTER_PID:
                ticks += used
    return ticks / _CLOCK_TICKS


def measured(
    name: str,
    task: str,
    jobs: Sequence[dict[str, Any]],
    env: dict[str, str],
    work: Path,
) -> tuple[Stage, list[Child]]:
    """Run the jobs as parallel children and measure the step as a whole."""
    before = server_cpu()
    started = time.monotonic()
    children = run_children(task, jobs, env, work)
    seconds = time.monotonic() - started
    time.sleep(0.3)  # let the backends that served the children exit and be counted
    after = server_cpu()
    server = None if before is None or after is None else after - before
    # The step's tasks run from the first one's start to the last one's end (one clock for all: CLOCK_MONOTONIC).
    in_task = max(c.task_finished for c in children) - min(c.task_started for c in children)
    stage = Stage(
        name,
        in_task,
        sum(c.task_cpu_seconds for c in children),
        server,
        max(c.peak_rss_mb for c in children),
        process_seconds=seconds,
        process_cpu_s=sum(c.cpu_seconds for c in children),
    )
    return stage, children


def variant_of(
    key: str,
    label: str,
    stages: list[Stage],
    rows: int,
    detail: dict[str, Any],
    process_seconds: float | None = None,
    with_stages: bool = True,
) -> Variant:
    """The stages run one after the other: the variant's time is their sum (``process_seconds``, the
    parent's clock over all of them, when given)."""
    servers = [s.server_cpu_s for s in stages]
    return Variant(
        key,
        label,
        sum(s.seconds for s in stages),
        sum(s.client_cpu_s for s in stages),
        None if any(v is None for v in servers) else sum(v for v in servers if v is not None),
        max(s.peak_rss_mb for s in stages),
        rows,
        stages if with_stages else [],
        detail,
        sum(s.process_seconds for s in stages) if process_seconds is None else process_seconds,
        sum(s.process_cpu_s for s in stages),
    )


def landing_files(landing: Path, kinds: Sequence[str] = LANDING_KINDS) -> list[tuple[str, Path]]:
    """(kind, path) of every data file of the landing folder, biggest first (for balanced workers)."""
    found = [(kind, path) for kind in kinds for path in sorted((landing / kind).glob("*")) if path.is_file()]
    return sorted(found, key=lambda item: item[1].stat().st_size, reverse=True)


def count_lines(paths: Sequence[Path]) -> int:
    total = 0
    for path in paths:
        with path.open("rb") as stream:
            while block := stream.read(1 << 20):
                total += block.count(b"\n")
    return total


def balance(items: Sequence[Any], sizes: Sequence[int], workers: int) -> list[list[Any]]:
    """Longest-processing-time-first assignment of items to workers (order kept within a worker)."""
    loads = [0] * workers
    shares: list[list[Any]] = [[] for _ in range(workers)]
    for item, size in sorted(zip(items, sizes, strict=True), key=lambda pair: -pair[1]):
        target = loads.index(min(loads))
        shares[target].append(item)
        loads[target] += size
    return [share for share in shares if share]


def generate_landing(data_dir: Path, messages: int, seed: int) -> tuple[dict[str, int], float, bool]:
    """Generate the landing (or reuse one generated with the same size and seed); returns counts, seconds."""
    marker = data_dir / "bench-generated.json"
    wanted = {"messages": messages, "seed": seed}
    if marker.exists():
        stored = json.loads(marker.read_text())
        if {k: stored.get(k) for k in wanted} == wanted:
            return stored["counts"], stored["seconds"], True
    from sms_tracking_dev.sample_data import generate

    landing = data_dir / "landing"
    shutil.rmtree(landing, ignore_errors=True)
    started = time.monotonic()
    counts = generate(landing, messages=messages, seed=seed)
    seconds = time.monotonic() - started
    marker.write_text(json.dumps({**wanted, "counts": counts, "seconds": seconds}))
    return counts, seconds, False


def reset_landing(landing: Path) -> None:
    """Remove what earlier benchmark runs added (incremental files, exported send lists)."""
    for kind in REPORT_KINDS:
        for path in (landing / kind).glob("incremental-*"):
            path.unlink()
    shutil.rmtree(landing / "send_lists", ignore_errors=True)


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return parts._replace(path=f"/{name}").geturl()


def recreate_database(admin_dsn: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return with_database(admin_dsn, name)


def database_exists(admin_dsn: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(admin_dsn) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def scalar(dsn: str, query: str) -> Any:
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    return row[0] if row else None


def child_env(dsn: str, landing: Path, work: Path) -> dict[str, str]:
    """The environment of every child: the project's settings, a private Airflow home, quiet logs."""
    env = dict(os.environ)
    env.pop("AIRFLOW_CONN_SMS_TRACKING_POSTGRES", None)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(PLUGINS), str(PROJECT / "tools"), os.environ.get("PYTHONPATH")) if p
            ),
            "AIRFLOW_HOME": str(work / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "GX_ANALYTICS_ENABLED": "false",
            "SMS_TRACKING_DSN": dsn,
            "AIRFLOW__SMS_TRACKING__LANDING": str(landing),
            "AIRFLOW__SMS_TRACKING__DATA_DOCS": str(work / "data_docs"),
            # One run takes every object, as the sum of several hourly runs would.
            "AIRFLOW__SMS_TRACKING__MAX_OBJECTS_PER_RUN": "1000000",
        }
    )
    return env


def measure_copy(
    admin_dsn: str, landing: Path, workers: int, kinds: Sequence[str], work: Path, label: str, key: str
) -> Variant:
    dsn = recreate_database(admin_dsn, "sms_bench_copy")
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE UNLOGGED TABLE bench_raw (line text)")
    files = landing_files(landing, kinds)
    shares = balance([str(p) for _, p in files], [p.stat().st_size for _, p in files], workers)
    stage, _ = measured(
        key, "copy", [{"dsn": dsn, "files": share} for share in shares], child_env(dsn, landing, work), work
    )
    rows = int(scalar(dsn, "SELECT count(*) FROM bench_raw"))
    size = int(scalar(dsn, "SELECT pg_total_relation_size('bench_raw')"))
    return variant_of(key, label, [stage], rows, {"files": len(files), "table_bytes": size}, with_stages=False)


def measure_naive(admin_dsn: str, landing: Path, workers: int, work: Path) -> Variant:
    dsn = recreate_database(admin_dsn, "sms_bench_naive")
    files = landing_files(landing)
    jobs = balance([(kind, str(p)) for kind, p in files], [p.stat().st_size for _, p in files], workers)
    stage, children = measured(
        "naive", "naive", [{"dsn": dsn, "files": share} for share in jobs], child_env(dsn, landing, work), work
    )
    rows = sum(c.result["rows"] for c in children)
    size = int(scalar(dsn, "SELECT pg_database_size(current_database())"))
    return variant_of(
        "naive",
        "2. Naive peer: pandas parse + DataFrame.to_sql (defaults)",
        [stage],
        rows,
        {"files": len(files), "database_bytes": size},
        with_stages=False,
    )


def run_pipeline(
    dsn: str, landing: Path, workers: int, work: Path, run_id: str
) -> tuple[float, list[Stage], dict[str, Any]]:
    """prepare, pending objects, loads on ``workers`` processes, each build step, validation."""
    from sms_tracking.pipeline import BUILD_STEPS

    env = child_env(dsn, landing, work)
    stages: list[Stage] = []
    detail: dict[str, Any] = {}
    started = time.monotonic()

    def step(name: str, task: str, jobs: Sequence[dict[str, Any]]) -> tuple[Stage, list[Child]]:
        """The step measured, with the database's blocks read during it (what may grow with the history)."""
        before = block_counts(dsn)["blks_read"]
        stage, children = measured(name, task, jobs, env, work)
        stage.blks_read = block_counts(dsn)["blks_read"] - before
        return stage, children

    stage, _ = step("prepare_database", "prepare", [{}])
    stages.append(stage)

    stage, (child,) = step("pending_objects", "pending", [{}])
    objects = [tuple(o) for o in child.result]
    stage.detail = f"{len(objects)} new objects"
    stages.append(stage)

    if objects:
        sizes = [Path(unquote(urlsplit(uri).path)).stat().st_size for _, uri in objects]
        shares = balance(objects, sizes, workers)
        stage, children = step(
            f"load_object ×{len(objects)} on {len(shares)} workers",
            "load",
            [{"objects": share, "run_id": run_id} for share in shares],
        )
        totals = {key: sum(c.result[key] for c in children) for key in children[0].result}
        detail["load"] = totals
        stage.detail = (
            f"{totals['rows_loaded']:,} rows loaded, {totals['rows_duplicate']:,} duplicate, "
            f"{totals['rows_rejected']:,} rejected, {totals['retries']} deadlock retries"
        )
        stages.append(stage)

    for name in BUILD_STEPS:
        stage, (child,) = step(f"build: {name}", "build", [{"step": name, "run_id": run_id}])
        stage.detail = f"{child.result.get('rows', '')} rows"
        stages.append(stage)

    stage, (child,) = step("validate", "validate", [{"run_id": run_id}])
    detail["validation"] = outcome = child.result
    stage.detail = (
        f"{outcome.get('checks')} checks, {outcome.get('passed')} passed"
        if "checks" in outcome
        else "critical check failed (see the JSON)"
    )
    stages.append(stage)
    return time.monotonic() - started, stages, detail


def measure_pipeline(admin_dsn: str, landing: Path, workers: int, work: Path, reuse: bool, messages: int) -> Variant:
    name = f"sms_bench_pipeline_{messages}"
    if reuse and database_exists(admin_dsn, name):
        dsn = with_database(admin_dsn, name)
        return Variant(
            "pipeline",
            "3. This project: full pipeline (reused database, not re-measured)",
            float("nan"),
            float("nan"),
            None,
            float("nan"),
            0,
            detail={"dsn": dsn},
        )
    dsn = recreate_database(admin_dsn, name)
    seconds, stages, detail = run_pipeline(dsn, landing, workers, work, RUN_ID)
    rows = detail.get("load", {}).get("rows_read", 0)
    detail["database_bytes"] = int(scalar(dsn, "SELECT pg_database_size(current_database())"))
    detail["messages_in_log"] = int(scalar(dsn, "SELECT count(*) FROM sms_tracking.delivery_log"))
    detail["dsn"] = dsn
    return variant_of(
        "pipeline",
        "3. This project: full pipeline (ingest → validation)",
        stages,
        rows,
        detail,
        process_seconds=seconds,
    )


def measure_floors(admin_dsn: str, pipeline_dsn: str | None, landing: Path, workers: int, work: Path) -> dict[str, Any]:
    """The floors (bench/floors.py): ingest on ``workers`` processes like the bare COPY, then the build on its
    tables, then the validation counts on the pipeline's database; each measured like a step."""
    dsn = recreate_database(admin_dsn, "sms_bench_floor")
    from floors import create_tables

    create_tables(dsn)
    env = child_env(dsn, landing, work)
    files = landing_files(landing)
    shares = balance([(k, str(p)) for k, p in files], [p.stat().st_size for _, p in files], workers)
    found: dict[str, Any] = {}
    stage, _ = measured("floor: ingest", "floor_ingest", [{"dsn": dsn, "files": s} for s in shares], env, work)
    found["ingest"] = {**asdict(stage), "what": "COPY into typed tables, reports parsed by one INSERT..SELECT"}
    stage, _ = measured("floor: build", "floor_build", [{"dsn": dsn}], env, work)
    found["build"] = {**asdict(stage), "what": "one statement per output on the typed tables"}
    if pipeline_dsn:
        stage, _ = measured(
            "floor: validation", "floor_validation", [{"dsn": pipeline_dsn, "run_id": RUN_ID}], env, work
        )
        found["validation"] = {**asdict(stage), "what": "each check as a plain count over its suite's rows"}
    return found


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) // 1024
    return {
        "platform": platform.platform(),
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory_mb": memory,
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
    }


def fmt_seconds(value: float | None) -> str:
    return "—" if value is None or value != value else f"{value:,.1f}"  # NaN: not measured


def fmt_mb(value: float) -> str:
    return "—" if value != value else f"{value:,.0f} MB"


def cpu_of(item: dict[str, Any]) -> float | None:
    server = item.get("server_cpu_s")
    return None if server is None else item["client_cpu_s"] + server


def ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}" if value is not None and base and value == value else ""


def report(results: dict[str, Any]) -> str:
    """The table the README quotes: every variant and stage, ratios against the COPY of the same files."""
    lines = []
    info = results["machine"]
    lines.append(
        f"sms-tracking benchmark — {results['messages']:,} messages (seed {results['seed']}), "
        f"{results['landing_rows']:,} landing lines in {results['landing_files']} files, "
        f"{results['landing_mb']:,.0f} MB; {results['workers']} worker processes per variant"
    )
    lines.append(
        f"machine: {info['cpus']} CPUs ({info['cpu']}), {info['memory_mb'] / 1024:.1f} GiB RAM, "
        f"{info['platform']}, Python {info['python']}, PostgreSQL {results.get('postgres', '?')}; "
        f"load average {info['loadavg_start'][0]:.1f} at start, {info.get('loadavg_end', [0])[0]:.1f} at end"
    )
    lines.append(
        "wall = elapsed seconds of the tasks; CPU = seconds of CPU used by the tasks + the Postgres server "
        "(what other work on the machine cannot inflate); process = wall seconds of the whole processes, "
        "interpreter start and Airflow import included"
    )
    lines.append("")
    variants = {v["key"]: v for v in results["variants"]}
    base = variants.get("copy", {})
    header = (
        f"{'variant':<58} {'wall s':>8} {'×COPY':>6} {'CPU s':>8} {'×COPY':>6} {'process':>8} {'×COPY':>6} "
        f"{'lines/s':>9} {'peak RSS':>9}"
    )
    lines += [header, "-" * len(header)]

    def stage_line(s: dict[str, Any]) -> str:
        return (
            f"    {s['name']:<54} {fmt_seconds(s['seconds']):>8} {'':>6} {fmt_seconds(cpu_of(s)):>8} {'':>6} "
            f"{fmt_seconds(s.get('process_seconds')):>8} {'':>6} {'':>9} {fmt_mb(s['peak_rss_mb']):>9}  "
            + ", ".join(
                part
                for part in (s["detail"], s.get("blks_read") is not None and f"{s['blks_read']:,} blocks read")
                if part
            )
        )

    for v in results["variants"]:
        rate = f"{v['rows'] / v['seconds']:,.0f}" if v["rows"] and v["seconds"] == v["seconds"] else ""
        lines.append(
            f"{v['label']:<58} {fmt_seconds(v['seconds']):>8} {ratio(v['seconds'], base.get('seconds')):>6} "
            f"{fmt_seconds(cpu_of(v)):>8} {ratio(cpu_of(v), cpu_of(base) if base else None):>6} "
            f"{fmt_seconds(v.get('process_seconds')):>8} "
            f"{ratio(v.get('process_seconds'), base.get('process_seconds')):>6} "
            f"{rate:>9} {fmt_mb(v['peak_rss_mb']):>9}"
        )
        lines += [stage_line(s) for s in v.get("stages", [])]
    inc = results.get("incremental")
    if inc:
        lines.append("")
        lines.append(
            f"incremental run: {inc['reports']:,} new reports on a database of {inc['history_messages']:,} "
            f"messages, landing folder of {inc['landing_files']} files"
        )
        lines += [stage_line(s) for s in inc["stages"]]
    lines.append("")
    lines += targets(results)
    return "\n".join(lines)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def _sum_stages(stages: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """One stage's figures for several run one after the other (None when there are none)."""
    if not stages:
        return None
    servers = [s.get("server_cpu_s") for s in stages]
    return {
        "seconds": sum(s["seconds"] for s in stages),
        "client_cpu_s": sum(s["client_cpu_s"] for s in stages),
        "server_cpu_s": None if None in servers else sum(servers),  # type: ignore[arg-type]
        "peak_rss_mb": max(s["peak_rss_mb"] for s in stages),
    }


def parts(pipe: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """The pipeline's ingest (every load_object), build (every build step) and validation, as measured."""
    stages = pipe.get("stages", [])
    return {
        "ingest": _sum_stages([s for s in stages if s["name"].startswith("load_object")]),
        "build": _sum_stages([s for s in stages if s["name"].startswith("build")]),
        "validation": _sum_stages([s for s in stages if s["name"].startswith("validate")]),
    }


def _ratios(item: dict[str, Any] | None, base: dict[str, Any] | None) -> tuple[float | None, float | None]:
    """(wall, CPU) of ``item`` over ``base``; None where either is unknown."""
    if not item or not base or item["seconds"] != item["seconds"] or not base["seconds"]:
        return None, None
    cpu, base_cpu = cpu_of(item), cpu_of(base)
    return item["seconds"] / base["seconds"], (cpu / base_cpu if cpu is not None and base_cpu else None)


def _row(what: str, wall: float | None, cpu: float | None, limit: float, at_least: bool, figures: str) -> str:
    """A target's verdict line: met only when wall time and CPU both are."""
    if wall is None:
        return f"  {what}: n/a ({figures})" if figures else f"  {what}: n/a"
    values = [v for v in (wall, cpu) if v is not None]
    ok = all(v >= limit for v in values) if at_least else all(v <= limit for v in values)
    cpu_text = f", CPU {cpu:.2f}×" if cpu is not None else ", CPU unknown"
    return f"  {what}: {verdict(ok)} (wall {wall:.2f}×{cpu_text}; {figures})"


def _floor_text(results: dict[str, Any], key: str, copy: dict[str, Any] | None) -> list[str]:
    floor = results.get("floors", {}).get(key)
    if not floor:
        return []
    wall, cpu = _ratios(floor, copy)
    cpu_text = f", CPU {cpu:.2f}×" if cpu is not None else ""
    return [
        f"      floor of the {key} ({floor['what']}): {floor['seconds']:.1f} s, wall {wall or 0:.2f}× COPY{cpu_text}"
    ]


def targets(results: dict[str, Any]) -> list[str]:
    """Issue 19's rows, each with its wall-time and CPU ratio (both must hold), floors beside them."""
    variants = {v["key"]: v for v in results["variants"]}
    out = ["targets (issue 19; a row is met when both its wall-time and its CPU ratio are):"]
    copy, naive, pipe = (variants.get(k) for k in ("copy", "naive", "pipeline"))
    measured_pipe = pipe is not None and pipe["seconds"] == pipe["seconds"]
    if measured_pipe and pipe is not None:
        if naive:
            wall, cpu = _ratios(naive, pipe)
            out.append(
                _row(
                    f"full pipeline ≥ {NAIVE_TARGET:g}× faster than the naive peer",
                    wall,
                    cpu,
                    NAIVE_TARGET,
                    True,
                    f"pipeline {pipe['seconds']:.1f} s, naive peer {naive['seconds']:.1f} s",
                )
            )
        wall, cpu = _ratios(pipe, copy)
        out.append(
            _row(
                f"full pipeline ≤ {PIPELINE_TARGET:g}× bare COPY",
                wall,
                cpu,
                PIPELINE_TARGET,
                False,
                f"{pipe['seconds']:.1f} s against {copy['seconds']:.1f} s" if copy else "no COPY measured",
            )
        )
        for key, what, limit in (
            ("ingest", "ingest (every load_object)", INGEST_TARGET),
            ("build", "the build steps together", BUILD_TARGET),
            ("validation", "validation", VALIDATION_TARGET),
        ):
            part = parts(pipe)[key]
            wall, cpu = _ratios(part, copy)
            figures = f"{part['seconds']:.1f} s" if part else "not measured"
            out.append(_row(f"{what} ≤ {limit:g}× bare COPY", wall, cpu, limit, False, figures))
            out += _floor_text(results, key, copy)
            if key == "validation":
                gx = pipe.get("detail", {}).get("validation", {}).get("gx_import")
                if gx and gx.get("thread"):
                    on_path = gx["main_thread_wait_s"] >= GX_CRITICAL_S
                    out.append(
                        f"      Great Expectations import: {gx['seconds']:.1f} s in thread {gx['thread']}, "
                        f"the task waited {gx['main_thread_wait_s']:.1f} s for it: "
                        + ("ON the critical path" if on_path else "off the critical path")
                    )
                elif gx is not None:
                    out.append("      Great Expectations import: not imported by validate (off the critical path)")
    if not measured_pipe:
        for key in ("ingest", "build", "validation"):
            out += _floor_text(results, key, copy)
    small, large = results.get("incremental_small"), results.get("incremental")
    if small and large:
        wall, cpu = _ratios(large, small)
        cold = "cold" if large.get("cold") and small.get("cold") else "WARM (run with --cold)"
        out.append(
            _row(
                f"incremental {large['reports']:,} reports on {large['history_messages']:,} messages ≤ "
                f"{HISTORY_TARGET:g}× the same on {small['history_messages']:,}, {cold}",
                wall,
                cpu,
                HISTORY_TARGET,
                False,
                f"{large['seconds']:.1f} s against {small['seconds']:.1f} s"
                + "".join(
                    f"; on {inc['history_messages']:,}: {inc['postgres_blocks']['blks_read']:,} blocks read, "
                    f"{inc['postgres_blocks']['blks_hit']:,} hit"
                    for inc in (large, small)
                    if inc.get("postgres_blocks")
                ),
            )
        )
    elif large:
        out.append(
            f"  incremental {large['reports']:,} reports on {large['history_messages']:,} messages: "
            f"{large['seconds']:.1f} s; n/a (the small-history side needs --history-copies and --incremental)"
        )
    ui = results.get("ui")
    if ui:
        state = "cold" if ui.get("cold") else "WARM (run with --cold)"
        for name, figures in ui.items():
            if isinstance(figures, dict) and "p95_ms" in figures:
                read = figures.get("postgres_blocks", {}).get("blks_read")
                out.append(
                    f"  UI {name:<40} p95 {figures['p95_ms']:7.1f} ms < {UI_TARGET_MS:g} ms, {state} "
                    f"(p50 {figures['p50_ms']:.1f}, max {figures['max_ms']:.1f}, n={figures['requests']}"
                    + (f", {read:,} blocks read" if read is not None else "")
                    + f"): {verdict(figures['p95_ms'] < UI_TARGET_MS)}"
                )
    tasks = [s for v in results["variants"] if v["key"] == "pipeline" for s in v.get("stages", [])]
    for inc in (small, large):
        tasks += inc["stages"] if inc else []
    peaks = [s["peak_rss_mb"] for s in tasks if s["peak_rss_mb"] == s["peak_rss_mb"]]
    if peaks:
        out.append(
            f"  peak RSS of every task at {results['messages']:,} messages < {MEMORY_TARGET_MB} MB: "
            f"{verdict(max(peaks) < MEMORY_TARGET_MB)} (largest task {max(peaks):,.0f} MB; the 5M figure: "
            "--messages 5000000, see bench/README.md)"
        )
    return out


def make_cold(env: dict[str, str], work: Path, warm_code: bool = True) -> dict[str, Any]:
    """Empty the caches (bench/cold.py: page cache dropped, private cluster restarted), then load the code again.

    The figures are about the database: a worker that has run tasks before has its Python code in the page
    cache, so a child imports the tasks' modules (Great Expectations included) before the measured run, which
    reads no table.
    """
    global POSTMASTER_PID
    from cold import make_cold as drop_and_restart  # bench/cold.py, beside this file

    evidence = drop_and_restart(CLUSTER)
    if CLUSTER is not None:
        POSTMASTER_PID = int((CLUSTER.data_dir / "postmaster.pid").read_text().split()[0])
    if warm_code:
        run_child("warm_code", {}, env, work)
    return evidence


@task
def task_warm_code(args: dict[str, Any]) -> None:
    """Read the tasks' code back into the page cache; no table is read."""
    import importlib

    for module in (
        "psycopg",
        "great_expectations.expectations",
        "sms_tracking.pipeline",
        "sms_tracking.quality",
        "sms_tracking.ui.app",
    ):
        importlib.import_module(module)


def incremental(dsn: str, landing: Path, workers: int, work: Path, cold: bool) -> dict[str, Any]:
    """Add reports for the 10,000 latest messages to a loaded database and run every task again, timed.

    Unmeasured first: the report files are written and the database is migrated to this checkout's schema (a
    history built by an earlier commit is upgraded here, not inside the timed run). With ``cold``, the caches
    are then emptied; the disk reads of the timed run are kept as the proof that it read from the disk.
    """
    from cold import disk_read_bytes

    env = child_env(dsn, landing, work)
    made = run_child(
        "incremental_files", {"dsn": dsn, "landing": str(landing), "reports": INCREMENTAL_REPORTS}, env, work
    ).result
    run_child("prepare", {}, env, work)
    caches = make_cold(env, work) if cold else None
    read_before, blocks_before = disk_read_bytes(), block_counts(dsn)
    seconds, stages, detail = run_pipeline(
        dsn, landing, workers, work, f"bench__incremental_{datetime.now(UTC):%Y%m%dT%H%M%S}"
    )
    disk_read_mb = (disk_read_bytes() - read_before) / 2**20
    blocks = {k: v - blocks_before[k] for k, v in block_counts(dsn).items()}
    history = int(scalar(dsn, "SELECT count(*) FROM sms_tracking.delivery_log"))
    run = variant_of("incremental", "incremental", stages, 0, detail, process_seconds=seconds)
    return {
        "reports": made["reports"],
        "files": made["files"],
        "history_messages": history,
        "seconds": run.seconds,
        "client_cpu_s": run.client_cpu_s,
        "server_cpu_s": run.server_cpu_s,
        "cpu_s": run.cpu_s,
        "peak_rss_mb": run.peak_rss_mb,
        "landing_files": len(landing_files(landing)),
        "stages": [asdict(s) for s in stages],
        "detail": detail,
        "process_seconds": run.process_seconds,
        "cold": cold,
        "caches": caches,
        "machine_disk_read_mb": disk_read_mb,
        "postgres_blocks": blocks,
    }


def block_counts(dsn: str) -> dict[str, int]:
    """The database's buffer misses (``blks_read``: read from the kernel, so from the disk after a drop) and hits.

    The disk counter of /proc/diskstats is the machine's (other processes read too); these are this
    database's own. Statistics reach the view when a backend ends, so they are read after the tasks exited.
    """
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT blks_read, blks_hit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return {"blks_read": int(row[0]), "blks_hit": int(row[1])} if row else {"blks_read": 0, "blks_hit": 0}


def history_database(
    admin_dsn: str, pipeline_dsn: str, copies: int, messages: int, rebuild: bool, landing: Path, work: Path
) -> tuple[str, dict[str, Any]]:
    """The database of ``copies`` times the loaded deliveries: reused when it exists (it takes 25 minutes to build
    at 10M), else cloned from the pipeline database and grown (``task_history``). Its comment says what built it."""
    copied = int(scalar(pipeline_dsn, "SELECT count(*) FROM sms_tracking.source_object WHERE uri LIKE '%~h%'"))
    if copied:
        # A pipeline database grown in place by an earlier bench (before the history had a database of its own):
        # it is the history; cloning it would double the disk it takes.
        messages_in_log = int(scalar(pipeline_dsn, "SELECT count(*) FROM sms_tracking.delivery_log"))
        return pipeline_dsn, {"reused": True, "in_place": True, "messages": messages_in_log}
    name = f"sms_bench_history_{messages * copies}"
    dsn = with_database(admin_dsn, name)
    if database_exists(admin_dsn, name) and not rebuild:
        comment = f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{name}'"
        return dsn, {"reused": True, "built": scalar(admin_dsn, comment)}
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        source = pipeline_dsn.rsplit("/", 1)[1]
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')  # type: ignore[arg-type]
    built = run_child("history", {"dsn": dsn, "copies": copies}, child_env(dsn, landing, work), work).result
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=PROJECT)
    when = f"{datetime.now(UTC):%F %T} UTC"
    built["built"] = f"bench/run.py --history-copies {copies} at {commit.stdout.strip()} on {when}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{built['built']}'")  # type: ignore[arg-type]
    return dsn, built


def ui_latency(dsn: str, landing: Path, work: Path, requests: int, cold: bool) -> dict[str, Any]:
    """Every route's series; cold: the caches emptied before each route's series (one process per route)."""
    import psycopg
    from cold import disk_read_bytes

    env = child_env(dsn, landing, work)
    # What the series ask for, read here before any cold series (reading it there would warm the tables).
    with psycopg.connect(dsn) as conn:
        ids = [r[0] for r in conn.execute("SELECT delivery_id FROM sms_tracking.delivery_summary ORDER BY 1")]
        phones = [r[0] for r in conn.execute("SELECT phone_e164 FROM sms_tracking.quarantine ORDER BY 1 LIMIT 10000")]
        numbers = int(conn.execute("SELECT count(*) FROM sms_tracking.quarantine").fetchone()[0])  # type: ignore[index]
    job = {"dsn": dsn, "requests": requests, "ids": ids, "phones": phones, "numbers": numbers}
    if not cold:
        return {**run_child("ui", job, env, work).result, "cold": False}
    results: dict[str, Any] = {"cold": True}
    for route in UI_ROUTES:
        caches = make_cold(env, work, warm_code=False)  # the UI's process imports its code before its series
        before, blocks = disk_read_bytes(), block_counts(dsn)
        found = run_child("ui", {**job, "routes": [route], "cold": True}, env, work).result
        results.update(found)
        results[route]["caches"] = caches
        results[route]["machine_disk_read_mb"] = (disk_read_bytes() - before) / 2**20
        results[route]["postgres_blocks"] = {k: v - blocks[k] for k, v in block_counts(dsn).items()}
    return results


@contextlib.contextmanager
def postgres(args: argparse.Namespace, work: Path) -> Iterator[str]:
    """The given server, else a private cluster (kept in --pg-dir when given, else thrown away)."""
    if args.dsn:
        yield args.dsn
        return
    from sms_tracking_dev.local_postgres import LocalPostgres, wait_until_ready

    global POSTMASTER_PID, CLUSTER
    cluster = LocalPostgres(Path(args.pg_dir) if args.pg_dir else work / "postgres")
    dsn = cluster.start()
    wait_until_ready(dsn)
    POSTMASTER_PID = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    CLUSTER = cluster
    try:
        yield dsn
    finally:
        POSTMASTER_PID, CLUSTER = None, None
        if args.pg_dir:
            cluster.stop()
        else:
            cluster.destroy()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python bench/run.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages to generate (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--dsn",
        help="a Postgres server whose role may create databases (default: a private "
        "cluster started with sms_tracking_dev.local_postgres)",
    )
    parser.add_argument("--pg-dir", help="keep the private cluster in this folder (reused by later runs)")
    parser.add_argument("--data-dir", help="keep the generated landing here (reused when size and seed match)")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        help="processes per variant, like mapped tasks in parallel (default: CPU count)",
    )
    parser.add_argument("--variants", default=",".join(VARIANTS), help="which of copy,naive,pipeline to run")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the pipeline database of an earlier run with the same --messages (--pg-dir/--dsn)",
    )
    parser.add_argument("--incremental", action="store_true", help="then add 10,000 reports and run every task again")
    parser.add_argument(
        "--small-history",
        type=int,
        default=100_000,
        help="with --incremental and --history-copies: the same incremental run on a fresh database of this many "
        "messages, the reference of the history target (default 100,000; 0: none)",
    )
    parser.add_argument(
        "--rebuild-history", action="store_true", help="build the history database again even if it exists"
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="empty the caches (page cache dropped as root, private cluster restarted) before each incremental "
        "run and each UI route's series (bench/cold.py)",
    )
    parser.add_argument(
        "--floors",
        action="store_true",
        help="also measure the floors: the same work by the simplest SQL (bench/floors.py)",
    )
    parser.add_argument(
        "--history-copies",
        type=int,
        default=1,
        help="before the incremental run and the UI, a database of this many copies of the loaded deliveries "
        "(10 on a 1M load: a 10M-message history), kept in the cluster and reused by later runs",
    )
    parser.add_argument("--ui", action="store_true", help="then time the UI's JSON endpoints on the loaded database")
    parser.add_argument("--ui-requests", type=int, default=100, help="requests per endpoint (default 100)")
    parser.add_argument("--json", help="write every figure to this file")
    parser.add_argument(
        "--dump", help="at the end, write the canonical dump of the pipeline database here (bench/dump.py)"
    )
    parser.add_argument("--show", help="print the table of an earlier run's JSON file and exit")
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--task-args", help=argparse.SUPPRESS)
    parser.add_argument("--task-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.task:
        import logging
        import resource

        logging.basicConfig(level=logging.WARNING)
        # What an Airflow worker has imported when it forks the task's process.
        import airflow.sdk.execution_time.supervisor  # noqa: F401

        def cpu() -> float:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            return usage.ru_utime + usage.ru_stime

        if args.task.startswith("floor_"):
            from floors import TASKS as FLOORS  # bench/floors.py, beside this file

            TASKS.update(FLOORS)
        started, cpu_started = time.monotonic(), cpu()
        result = TASKS[args.task](json.loads(Path(args.task_args).read_text()))
        out = {
            "result": result,
            "task_started": started,
            "task_finished": time.monotonic(),
            "task_cpu_s": cpu() - cpu_started,
        }
        Path(args.task_out).write_text(json.dumps(out, default=str))
        return 0

    if args.show:
        print(report(json.loads(Path(args.show).read_text())))
        return 0

    chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(chosen) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; expected some of {', '.join(VARIANTS)}")
    work = Path(tempfile.mkdtemp(prefix="sms-bench-"))
    work.chmod(0o755)
    data_dir = Path(args.data_dir) if args.data_dir else work / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "messages": args.messages,
        "seed": args.seed,
        "workers": args.workers,
        "machine": machine(),
        "started_at": datetime.now(UTC).isoformat(),
    }
    try:
        print(f"==> Generating {args.messages:,} messages into {data_dir}", flush=True)
        counts, gen_seconds, reused = generate_landing(data_dir, args.messages, args.seed)
        landing = data_dir / "landing"
        reset_landing(landing)
        files = landing_files(landing)
        results.update(
            counts=counts,
            generate_seconds=gen_seconds,
            landing_reused=reused,
            landing_files=len(files),
            landing_rows=count_lines([p for _, p in files]),
            landing_mb=sum(p.stat().st_size for _, p in files) / 2**20,
        )
        how = "reused an earlier generation" if reused else f"generated in {gen_seconds:.0f} s"
        print(f"    {how}: {counts}", flush=True)
        with postgres(args, work) as admin_dsn:
            results["postgres"] = scalar(admin_dsn, "SHOW server_version")
            variants: list[Variant] = []
            if "copy" in chosen:
                print("==> 1. COPY (all landing files, then report files only)", flush=True)
                variants.append(
                    measure_copy(
                        admin_dsn,
                        landing,
                        args.workers,
                        LANDING_KINDS,
                        work,
                        "1. Limit: bare COPY, every landing file",
                        "copy",
                    )
                )
                variants.append(
                    measure_copy(
                        admin_dsn,
                        landing,
                        args.workers,
                        REPORT_KINDS,
                        work,
                        "1a. bare COPY, report files only",
                        "copy_reports",
                    )
                )
            if "naive" in chosen:
                print("==> 2. Naive peer (pandas + to_sql)", flush=True)
                variants.append(measure_naive(admin_dsn, landing, args.workers, work))
            pipeline_variant = None
            if "pipeline" in chosen or args.incremental or args.ui:
                print("==> 3. The pipeline", flush=True)
                pipeline_variant = measure_pipeline(admin_dsn, landing, args.workers, work, args.reuse, args.messages)
                variants.append(pipeline_variant)
            if args.floors:
                print("==> Floors: the same work by the simplest SQL on ideal input", flush=True)

                pipeline_dsn = pipeline_variant.detail["dsn"] if pipeline_variant is not None else None
                results["floors"] = measure_floors(admin_dsn, pipeline_dsn, landing, args.workers, work)
            results["variants"] = [asdict(v) for v in variants]
            target_dsn = pipeline_variant.detail["dsn"] if pipeline_variant is not None else None
            if args.history_copies > 1 and target_dsn:
                print(f"==> History: {args.history_copies} copies of the loaded deliveries", flush=True)
                target_dsn, results["history"] = history_database(
                    admin_dsn, target_dsn, args.history_copies, args.messages, args.rebuild_history, landing, work
                )
                print(f"    {results['history']}", flush=True)
            if args.incremental and args.history_copies > 1 and args.small_history:
                small = args.small_history
                print(f"==> Incremental on a fresh {small:,}-message history", flush=True)
                small_data = data_dir / f"small-{small}"
                generate_landing(small_data, small, args.seed)
                small_landing = small_data / "landing"
                reset_landing(small_landing)
                small_dsn = recreate_database(admin_dsn, f"sms_bench_small_{small}")
                seconds, _, _ = run_pipeline(small_dsn, small_landing, args.workers, work, RUN_ID)
                print(f"    loaded in {seconds:.0f} s", flush=True)
                results["incremental_small"] = incremental(small_dsn, small_landing, args.workers, work, args.cold)
            if args.incremental and target_dsn:
                print(f"==> Incremental: {INCREMENTAL_REPORTS:,} new reports", flush=True)
                results["incremental"] = incremental(target_dsn, landing, args.workers, work, args.cold)
            if args.ui and target_dsn:
                print("==> UI JSON endpoints" + (", cold" if args.cold else ""), flush=True)
                results["ui"] = ui_latency(target_dsn, landing, work, args.ui_requests, args.cold)
            results["machine"]["loadavg_end"] = os.getloadavg()
            if args.dump and pipeline_variant is not None:
                from dump import dump  # bench/dump.py, beside this file

                print(f"==> Dump of the pipeline database into {args.dump}", flush=True)
                results["dump"] = {
                    "file": args.dump,
                    "data_sha256": dump(pipeline_variant.detail["dsn"], Path(args.dump), str(landing)),
                }
        print()
        print(report(results))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
