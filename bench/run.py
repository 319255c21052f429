"""Benchmark of issue #7: the full pipeline against a bare COPY and a naive pandas DAG, on the same data.

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
    python bench/run.py --messages 5000000 --variants copy,pipeline --incremental --ui \\
        --reference bench/results/1m.json --data-dir /var/tmp/bench-5m --pg-dir /var/tmp/bench-pg
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
INCREMENTAL_TARGET = 0.05
PIPELINE_TARGET = 2.0
NAIVE_TARGET = 10.0
MEMORY_TARGET_MB = 1024
UI_TARGET_MS = 150.0
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

    try:
        return validate_run(args["run_id"])
    except ValidationFailed as failed:
        return {"validation_failed": str(failed)[:2000]}


# --- Incremental run: new reports for messages already in a large history --------------------------------


@task
def task_incremental_files(args: dict[str, Any]) -> dict[str, Any]:
    """Write final reports for the latest messages sent, as providers send them hours later: one new SMPP
    file and one new Twilio callback file. The latest sends, not pending messages from anywhere in the
    history: a day's reports are about the day's deliveries, and the build's work is per delivery touched."""
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
HISTORY_KEYS = ("delivery_id", "provider_message_id", "recipient_id", "click_key", "inbound_key", "tracking_token")


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


# --- UI latency --------------------------------------------------------------------------------------------


@task
def task_ui(args: dict[str, Any]) -> dict[str, Any]:
    """p50/p95/max of the plugin's JSON endpoints, through the real app with an overridden Airflow user."""
    import random
    from unittest import mock

    import psycopg
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    from sms_tracking.ui import auth
    from sms_tracking.ui.app import create_app

    with psycopg.connect(args["dsn"]) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT delivery_id FROM sms_tracking.delivery_summary ORDER BY delivery_id"
            ).fetchall()
        ]
    picker = random.Random(7)
    requests = args["requests"]
    endpoints: dict[str, Callable[[], str]] = {
        "GET /api/deliveries": lambda: "/api/deliveries",
        "GET /api/deliveries?sort&offset": lambda: (
            f"/api/deliveries?sort={picker.choice(['created_at', 'success_rate', 'name'])}"
            f"&dir={picker.choice(['asc', 'desc'])}&offset={picker.randrange(0, max(1, len(ids) - 50))}"
        ),
        "GET /api/deliveries/{id}": lambda: f"/api/deliveries/{picker.choice(ids)}",
        "GET /api/deliveries/{id}/log": lambda: f"/api/deliveries/{picker.choice(ids)}/log",
        "GET /api/deliveries/{id}/tracking": lambda: f"/api/deliveries/{picker.choice(ids)}/tracking",
        "GET /api/deliveries/{id}/exclusions": lambda: f"/api/deliveries/{picker.choice(ids)}/exclusions",
        "GET /api/deliveries/{id}/audit": lambda: f"/api/deliveries/{picker.choice(ids)}/audit",
    }
    app = create_app()
    user = SimpleAuthManagerUser(username="bench", role="admin")
    app.dependency_overrides[auth.get_user] = lambda: user
    results: dict[str, Any] = {"deliveries": len(ids)}
    with mock.patch("airflow.api_fastapi.core_api.security.get_auth_manager", return_value=SimpleAuthManager()):
        client = TestClient(app)
        for name, url in endpoints.items():
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

    stage, _ = measured("prepare_database", "prepare", [{}], env, work)
    stages.append(stage)

    stage, (child,) = measured("pending_objects", "pending", [{}], env, work)
    objects = [tuple(o) for o in child.result]
    stage.detail = f"{len(objects)} new objects"
    stages.append(stage)

    if objects:
        sizes = [Path(unquote(urlsplit(uri).path)).stat().st_size for _, uri in objects]
        shares = balance(objects, sizes, workers)
        stage, children = measured(
            f"load_object ×{len(objects)} on {len(shares)} workers",
            "load",
            [{"objects": share, "run_id": run_id} for share in shares],
            env,
            work,
        )
        totals = {key: sum(c.result[key] for c in children) for key in children[0].result}
        detail["load"] = totals
        stage.detail = (
            f"{totals['rows_loaded']:,} rows loaded, {totals['rows_duplicate']:,} duplicate, "
            f"{totals['rows_rejected']:,} rejected, {totals['retries']} deadlock retries"
        )
        stages.append(stage)

    for step in BUILD_STEPS:
        stage, (child,) = measured(f"build: {step}", "build", [{"step": step, "run_id": run_id}], env, work)
        stage.detail = f"{child.result.get('rows', '')} rows"
        stages.append(stage)

    stage, (child,) = measured("validate", "validate", [{"run_id": run_id}], env, work)
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
            f"{s['detail']}"
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


def slower(slow: dict[str, Any], fast: dict[str, Any], digits: int) -> tuple[float, str]:
    """How many times ``slow`` took ``fast``'s wall time, and the text of that ratio with the CPU and
    whole-process ones where both were measured."""
    wall = slow["seconds"] / fast["seconds"]
    cpu = cpu_of(slow) / cpu_of(fast) if cpu_of(slow) and cpu_of(fast) else None  # type: ignore[operator]
    process = ratio(slow.get("process_seconds"), fast.get("process_seconds"))
    text = f"{wall:.{digits}f}× in wall time" + (f", {cpu:.{digits}f}× in CPU" if cpu else "")
    return wall, f"({text}" + (f", {process}× in whole-process time" if process else "") + ")"


def targets(results: dict[str, Any]) -> list[str]:
    variants = {v["key"]: v for v in results["variants"]}
    out = ["targets:"]
    copy, naive, pipe = (variants.get(k) for k in ("copy", "naive", "pipeline"))
    measured_pipe = pipe is not None and pipe["seconds"] == pipe["seconds"]
    if copy and measured_pipe:
        wall, times = slower(pipe, copy, 1)
        out.append(f"  full pipeline ≤ {PIPELINE_TARGET:g}× bare COPY: {verdict(wall <= PIPELINE_TARGET)} {times}")
        reports_copy = variants.get("copy_reports")
        if reports_copy:
            only = pipe["seconds"] / reports_copy["seconds"]
            out.append(f"      against the COPY of the report files only: {only:.1f}× in wall time")
    if naive and measured_pipe:
        speedup, times = slower(naive, pipe, 2)
        out.append(f"  ≥ {NAIVE_TARGET:g}× faster than the naive peer: {verdict(speedup >= NAIVE_TARGET)} {times}")
    if measured_pipe:
        peak = pipe["peak_rss_mb"]
        out.append(
            f"  every pipeline task < {MEMORY_TARGET_MB} MB peak RSS: {verdict(peak < MEMORY_TARGET_MB)} "
            f"(largest task {peak:,.0f} MB)"
        )
    inc = results.get("incremental")
    if inc:
        share = inc.get("share_of_reference")
        cpu_share = inc.get("share_of_reference_cpu")
        figures = (
            f"{inc['seconds']:.1f} s = {share:.1%} of {inc['reference']}"
            if share is not None
            else f"{inc['seconds']:.1f} s; {inc['reference']}"
        )
        if cpu_share is not None:
            figures += f"; in CPU {cpu_share:.1%}"
        if inc.get("process_share_of_reference") is not None:
            figures += f"; whole processes {inc['process_seconds']:.1f} s = {inc['process_share_of_reference']:.1%}"
        out.append(
            f"  incremental {inc['reports']:,} reports on {inc['history_messages']:,} messages < "
            f"{INCREMENTAL_TARGET:.0%} of a full 1M load: "
            f"{verdict(share < INCREMENTAL_TARGET) if share is not None else 'n/a'} ({figures})"
        )
    ui = results.get("ui")
    if ui:
        for name, figures in ui.items():
            if isinstance(figures, dict):
                out.append(
                    f"  UI {name:<36} p95 {figures['p95_ms']:7.1f} ms (p50 {figures['p50_ms']:.1f}, "
                    f"max {figures['max_ms']:.1f}, n={figures['requests']}): "
                    f"{verdict(figures['p95_ms'] < UI_TARGET_MS)}"
                )
    return out


def incremental(
    variant: Variant, landing: Path, workers: int, work: Path, reference: dict[str, Any] | None, messages: int
) -> dict[str, Any]:
    """Add 10,000 reports to the loaded database and run every task again; compare with a full 1M load."""
    dsn = variant.detail["dsn"]
    env = child_env(dsn, landing, work)
    made = run_child(
        "incremental_files", {"dsn": dsn, "landing": str(landing), "reports": INCREMENTAL_REPORTS}, env, work
    ).result
    seconds, stages, detail = run_pipeline(
        dsn, landing, workers, work, f"bench__incremental_{datetime.now(UTC):%Y%m%dT%H%M%S}"
    )
    history = int(scalar(dsn, "SELECT count(*) FROM sms_tracking.delivery_log"))
    ref_seconds: float | None = None
    ref_cpu: float | None = None
    ref_process: float | None = None
    if reference:
        ref_seconds, ref_cpu = reference["seconds"], reference.get("cpu_s")
        ref_process = reference.get("process_seconds")
        ref_label = f"the full 1M load of {reference['source']}, {ref_seconds:.1f} s"
    elif variant.seconds == variant.seconds:
        scale = 1_000_000 / messages
        ref_seconds = variant.seconds * scale
        ref_cpu = variant.cpu_s * scale if variant.cpu_s is not None else None
        ref_process = variant.process_seconds * scale
        ref_label = (
            f"this run's full load of {messages:,} messages scaled to 1M, {ref_seconds:.1f} s"
            if messages != 1_000_000
            else f"this run's full 1M load, {ref_seconds:.1f} s"
        )
    else:
        ref_label = "no full-load reference"
    incremental_run = variant_of("incremental", "incremental", stages, 0, detail, process_seconds=seconds)
    seconds, cpu = incremental_run.seconds, incremental_run.cpu_s
    return {
        "reports": made["reports"],
        "files": made["files"],
        "history_messages": history,
        "seconds": seconds,
        "cpu_s": cpu,
        "peak_rss_mb": incremental_run.peak_rss_mb,
        "landing_files": len(landing_files(landing)),
        "stages": [asdict(s) for s in stages],
        "detail": detail,
        "reference": ref_label,
        "share_of_reference": seconds / ref_seconds if ref_seconds else None,
        "share_of_reference_cpu": cpu / ref_cpu if cpu is not None and ref_cpu else None,
        "process_seconds": incremental_run.process_seconds,
        "process_share_of_reference": incremental_run.process_seconds / ref_process if ref_process else None,
    }


@contextlib.contextmanager
def postgres(args: argparse.Namespace, work: Path) -> Iterator[str]:
    """The given server, else a private cluster (kept in --pg-dir when given, else thrown away)."""
    if args.dsn:
        yield args.dsn
        return
    from sms_tracking_dev.local_postgres import LocalPostgres, wait_until_ready

    global POSTMASTER_PID
    cluster = LocalPostgres(Path(args.pg_dir) if args.pg_dir else work / "postgres")
    dsn = cluster.start()
    wait_until_ready(dsn)
    POSTMASTER_PID = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    try:
        yield dsn
    finally:
        POSTMASTER_PID = None
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
    parser.add_argument("--reference", help="results JSON of a 1M run: its pipeline time is the incremental reference")
    parser.add_argument(
        "--history-copies",
        type=int,
        default=1,
        help="before the incremental run, grow the database to this many copies of its deliveries "
        "(10 on a 1M load: a 10M-message history)",
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
            results["variants"] = [asdict(v) for v in variants]
            if args.history_copies > 1 and pipeline_variant is not None:
                print(f"==> History: {args.history_copies} copies of the loaded deliveries", flush=True)
                dsn = pipeline_variant.detail["dsn"]
                results["history"] = run_child(
                    "history", {"dsn": dsn, "copies": args.history_copies}, child_env(dsn, landing, work), work
                ).result
            if args.incremental and pipeline_variant is not None:
                print(f"==> Incremental: {INCREMENTAL_REPORTS:,} new reports", flush=True)
                reference = None
                if args.reference:
                    ref = json.loads(Path(args.reference).read_text())
                    ref_pipe = next(v for v in ref["variants"] if v["key"] == "pipeline")
                    reference = {
                        "seconds": ref_pipe["seconds"],
                        "cpu_s": cpu_of(ref_pipe),
                        "process_seconds": ref_pipe.get("process_seconds"),
                        "source": Path(args.reference).name,
                    }
                results["incremental"] = incremental(
                    pipeline_variant, landing, args.workers, work, reference, args.messages
                )
            if args.ui and pipeline_variant is not None:
                print("==> UI JSON endpoints", flush=True)
                dsn = pipeline_variant.detail["dsn"]
                results["ui"] = run_child(
                    "ui", {"dsn": dsn, "requests": args.ui_requests}, child_env(dsn, landing, work), work
                ).result
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
