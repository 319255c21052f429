"""The benchmark's ingest on Airflow's real services with CeleryExecutor: one worker, then two, same run.

Generates (or reuses) the benchmark landing of ``--messages``, starts a private Postgres, Debian's Redis and
the services (``sms_tracking_dev.demo``, ``sms_tracking_dev.celery_services``) with the DAGs paused, then
for each worker count: a fresh tracking database (migrated beforehand, so ``prepare_database`` finds
nothing to do), one run of each ingest DAG queued before any worker starts (the first round's start on
their schedule when the DAGs are unpaused, the next rounds' are triggered), then the workers
(``--concurrency`` task slots each). The ingest time is from the first task's start to the last run's end,
read from the metadata database; the build DAG stays paused (it is not ingest).

    python bench/celery_ingest.py --messages 1000000 --data-dir /var/tmp/bench-1m
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path.cwd()
for _folder in (PROJECT / "plugins", PROJECT / "tools", PROJECT / "bench"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

INGEST = (
    "sms_tracking_ingest_campaign",
    "sms_tracking_ingest_smpp_main",
    "sms_tracking_ingest_twilio_callbacks",
    "sms_tracking_ingest_twilio_api",
)
TIMEOUT = 3600


def airflow(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "airflow", *args], env=env, check=True, capture_output=True)


def query(metadata: str, sql: str, *params: Any) -> list[tuple]:
    import psycopg

    with psycopg.connect(metadata) as conn:
        return conn.execute(sql, params).fetchall()


def wait(what: str, ready: Any, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not within {timeout:.0f} s")
        time.sleep(2)


def measure(
    workers: int,
    env: dict[str, str],
    metadata: str,
    admin_dsn: str,
    work: Path,
    processes: Any,
    concurrency: int,
    first: bool,
) -> dict[str, Any]:
    """One round: fresh tracking database, four queued ingest runs, then ``workers`` workers until done."""
    from run import recreate_database

    from sms_tracking.pipeline import prepare_database
    from sms_tracking_dev.celery_services import start_worker

    dsn = recreate_database(admin_dsn, "sms_bench_celery")
    prepare_database(dsn)
    env = {**env, "SMS_TRACKING_DSN": dsn, "AIRFLOW_CONN_SMS_TRACKING_POSTGRES": dsn}
    before = {row[0] for row in query(metadata, "SELECT run_id FROM dag_run")}
    for dag_id in INGEST:
        airflow(env, "dags", "unpause" if first else "trigger", dag_id)

    def new_runs() -> list[tuple]:
        return [
            (d, r)
            for d, r in query(metadata, "SELECT dag_id, run_id FROM dag_run WHERE dag_id = ANY(%s)", list(INGEST))
            if r not in before
        ]

    wait("the ingest runs", lambda: len(new_runs()) == len(INGEST), 300)
    runs = new_runs()
    load_before = time.monotonic()
    names = [f"w{workers}-{n}" for n in range(1, workers + 1)]
    for name in names:
        start_worker(processes, env, name, work / name, work / f"{name}.log")
    run_ids = [r for _, r in runs]

    def finished() -> bool:
        states = [s for (s,) in query(metadata, "SELECT state FROM dag_run WHERE run_id = ANY(%s)", run_ids)]
        if "failed" in states:
            raise SystemExit(f"an ingest run failed: {states}; logs in {work}")
        return states == ["success"] * len(run_ids)

    wait(f"the ingest runs with {workers} worker(s)", finished)
    wall = time.monotonic() - load_before
    ((first_start, last_end),) = query(
        metadata,
        "SELECT (SELECT min(start_date) FROM task_instance WHERE run_id = ANY(%s)),"
        " (SELECT max(end_date) FROM dag_run WHERE run_id = ANY(%s))",
        run_ids,
        run_ids,
    )
    loads = query(
        metadata,
        "SELECT hostname, count(*), sum(extract(epoch FROM end_date - start_date))"
        " FROM task_instance WHERE run_id = ANY(%s) AND task_id = 'load_object' GROUP BY 1 ORDER BY 1",
        run_ids,
    )
    for proc in list(processes.running)[-workers:]:
        processes.stop(proc)
    rows = query(dsn, "SELECT count(*) FROM sms_tracking.report")[0][0]
    return {
        "workers": workers,
        "slots": workers * concurrency,
        "ingest_s": (last_end - first_start).total_seconds(),
        "wall_from_worker_start_s": wall,
        "load_object": {host: {"tasks": n, "task_seconds": float(s)} for host, n, s in loads},
        "reports": rows,
        "load_average": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/celery_ingest.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", help="keep the generated landing here (reused when it matches)")
    parser.add_argument("--concurrency", type=int, default=1, help="task slots per worker (default 1)")
    parser.add_argument("--workers", default="1,2", help="worker counts, in order (default 1,2)")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)

    from run import generate_landing

    from sms_tracking_dev.celery_services import celery_settings, redis_server
    from sms_tracking_dev.demo import Processes, _free_port, airflow_env, services_env, start_services
    from sms_tracking_dev.local_postgres import LocalPostgres, wait_until_ready

    work = Path(tempfile.mkdtemp(prefix="bench-celery-"))
    work.chmod(0o755)  # Redis and Postgres run as nobody when we are root
    data_dir = Path(args.data_dir) if args.data_dir else work / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    counts, generated_s, reused = generate_landing(data_dir, args.messages, args.seed)
    print(
        f"==> landing of {args.messages:,} messages {'reused' if reused else f'generated in {generated_s:.0f}s'}",
        flush=True,
    )
    cluster = LocalPostgres(work / "postgres")
    processes = Processes(work / "processes")
    results: list[dict[str, Any]] = []
    try:
        admin_dsn = cluster.start()
        wait_until_ready(admin_dsn)
        with redis_server(work / "redis") as broker:
            import psycopg

            with psycopg.connect(admin_dsn, autocommit=True) as conn:
                conn.execute("CREATE DATABASE airflow_bench")
            metadata = admin_dsn.rsplit("/", 1)[0] + "/airflow_bench"
            port = _free_port()
            env = services_env(
                airflow_env(work / "airflow", admin_dsn),
                metadata.replace("postgresql://", "postgresql+psycopg://"),
                port,
            )
            env.update(celery_settings(broker, args.concurrency))
            env.update(
                {
                    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                    "AIRFLOW__SMS_TRACKING__LANDING": str(data_dir / "landing"),
                    "AIRFLOW__SMS_TRACKING__DATA_DOCS": str(work / "data_docs"),
                    "AIRFLOW__SMS_TRACKING__MAX_OBJECTS_PER_RUN": "1000000",
                    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
                }
            )
            start_services(processes, env, port)
            wait(
                "the DAG processor's first parse",
                lambda: (
                    len(query(metadata, "SELECT dag_id FROM dag WHERE dag_id = ANY(%s)", list(INGEST))) == len(INGEST)
                ),
                300,
            )
            for n, workers in enumerate(int(n) for n in args.workers.split(",")):
                print(f"==> ingest with {workers} worker(s) of {args.concurrency} slot(s)", flush=True)
                results.append(measure(workers, env, metadata, admin_dsn, work, processes, args.concurrency, n == 0))
                print(f"    {results[-1]['ingest_s']:.1f}s  {json.dumps(results[-1]['load_object'])}", flush=True)
    finally:
        processes.stop_all()
        cluster.destroy()
    summary = {
        "messages": args.messages,
        "landing_lines": counts,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "concurrency_per_worker": args.concurrency,
        "rounds": results,
        "ratio_1_to_2": results[0]["ingest_s"] / results[1]["ingest_s"] if len(results) == 2 else None,
    }
    print(json.dumps(summary, indent=2, default=str))
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    shutil.rmtree(work, ignore_errors=True)  # the landing stays when it is in --data-dir
    return 0


if __name__ == "__main__":
    sys.exit(main())
