"""``./dev demo``: run the pipeline end to end on the bundled sample data, then serve the Airflow UI.

Uses ``SMS_TRACKING_DSN`` (or ``AIRFLOW_CONN_SMS_TRACKING_POSTGRES``) when set, else starts a local
Postgres cluster kept in ``.demo/postgres``. Airflow runs as in production: api-server, scheduler,
dag-processor and triggerer with the LocalExecutor, its metadata in a database of the same server (new
every run), the DAGs unpaused; the ingest DAGs start on their schedule and the build on their Asset
events. Airflow's home and the services' logs are in ``.demo/airflow``.
``--no-ui`` (or ``SMS_TRACKING_DEMO_NO_UI=1``) stops after the summary, for scripts.

Ctrl-C, SIGTERM and SIGHUP stop everything it started. Every Airflow process runs in a process group of
its own, recorded in ``.demo/processes``; the next start stops what a killed run (``kill -9``) left there,
and the server of its Postgres cluster.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from types import FrameType

from sms_tracking.config import load_sources
from sms_tracking_dev import project_dir, sample_landing

LOGIN = ("admin", "admin")
AIRFLOW = [sys.executable, "-m", "airflow"]


def demo_dir() -> Path:
    """``.demo`` in the checkout (or ``SMS_TRACKING_DEMO_DIR``): the private cluster, Airflow's home and the
    landing copy."""
    return Path(os.environ.get("SMS_TRACKING_DEMO_DIR") or project_dir() / ".demo")


def airflow_env(home: Path, dsn: str) -> dict[str, str]:
    """The environment that points Airflow at this project and the tracking database."""
    home.mkdir(parents=True, exist_ok=True)
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({LOGIN[0]: LOGIN[1]}))
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(project_dir() / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(project_dir() / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{LOGIN[0]}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            # Random per run: a fixed secret in the code would sign tokens anyone can forge.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_CONN_SMS_TRACKING_POSTGRES": dsn,
            "SMS_TRACKING_DSN": dsn,
            "AIRFLOW__SMS_TRACKING__LANDING": env.get("AIRFLOW__SMS_TRACKING__LANDING")
            or env.get("SMS_TRACKING_LANDING")
            or str(demo_landing()),
            "GX_ANALYTICS_ENABLED": "false",
            "PYTHONPATH": os.pathsep.join(p for p in (str(project_dir() / "plugins"), env.get("PYTHONPATH")) if p),
        }
    )
    return env


def demo_landing() -> Path:
    """A copy of the bundled sample landing: the pipeline writes send lists into its landing location."""
    target = demo_dir() / "landing"
    shutil.copytree(sample_landing(), target, dirs_exist_ok=True)
    return target


def pipeline_dag_ids() -> list[str]:
    """The DAGs in the order a first run needs: campaign files, each report source, the build."""
    return [
        "sms_tracking_ingest_campaign",
        *(f"sms_tracking_ingest_{source.name}" for source in load_sources()),
        "sms_tracking_build",
    ]


class Stop(BaseException):
    """A signal asked the demo to stop (SIGINT, SIGTERM or SIGHUP): raised where it is, so cleanup runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise Stop(signum)


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """Turn Ctrl-C, SIGTERM and SIGHUP into :class:`Stop`; while the ``finally`` blocks of the body run
    (leaving it), further signals are ignored so a second Ctrl-C cannot cut the cleanup short."""
    previous = {signum: signal.signal(signum, _raise_stop) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _ignore_stop_signals() -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


class Processes:
    """The Airflow processes the demo starts, each the leader of a process group of its own (the
    terminal's Ctrl-C reaches only the demo, which stops them in order), recorded in a file so that the
    next start can stop what a killed run left."""

    def __init__(self, record: Path) -> None:
        self.record = record
        self.running: list[subprocess.Popen[bytes]] = []

    def start(
        self, argv: list[str], env: dict[str, str], log: Path, cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        with log.open("a") as out:
            out.write(f"\n===== {' '.join(argv)}\n")
            out.flush()
            proc = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd
            )
        self.running.append(proc)
        with self.record.open("a") as record:
            record.write(f"{proc.pid}\n")
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
        """SIGTERM to its group, SIGKILL to what is left of the group after ``timeout`` or once it exited."""
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
        _signal_group(proc.pid, signal.SIGKILL)  # the group's stragglers (workers of a dead leader)
        proc.wait()
        if proc in self.running:
            self.running.remove(proc)

    def stop_all(self, timeout: float = 20) -> None:
        """SIGTERM to every group at once, then each waited for (together at most ``timeout``)."""
        for proc in self.running:
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in list(self.running):
            self.stop(proc, max(0.0, deadline - time.monotonic()))
        self.record.unlink(missing_ok=True)

    def stop_leftovers(self) -> None:
        """Stop the process groups a killed run recorded, when their leader is still an Airflow process."""
        try:
            pids = [int(line) for line in self.record.read_text().split()]
        except (OSError, ValueError):
            pids = []
        for pid in pids:
            if _is_airflow(pid):
                print(f"==> Stopping process group {pid}, left by an earlier run", flush=True)
                _signal_group(pid, signal.SIGTERM)
                deadline = time.monotonic() + 20
                while _is_airflow(pid) and time.monotonic() < deadline:
                    time.sleep(0.2)
                _signal_group(pid, signal.SIGKILL)
        self.record.unlink(missing_ok=True)


def _signal_group(pgid: int, signum: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _is_airflow(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z" and b"airflow" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


METADATA_DB = "airflow_demo"
"""The database of Airflow's own metadata, beside the tracking database on the same server; new every run,
so the first runs start by schedule whatever an earlier run left."""
BUILD_DAG = "sms_tracking_build"
RUN_TIMEOUT = 900


def metadata_dsn(dsn: str) -> str:
    """A fresh metadata database on the tracking database's server, as an SQLAlchemy URL."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {METADATA_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {METADATA_DB}")
    params = conninfo_to_dict(dsn)
    return (
        f"postgresql+psycopg://{params.get('user', 'postgres')}:{params.get('password', '')}"
        f"@{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}/{METADATA_DB}"
    )


def services_env(env: dict[str, str], metadata: str, port: int) -> dict[str, str]:
    """The real services' settings: LocalExecutor, Postgres metadata, the DAGs unpaused, ports of our own."""
    return {
        **env,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",  # LocalExecutor starts this many workers at once
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",  # the task runners' execution API too
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),  # default 8793 on 0.0.0.0
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
    }


def start_services(processes: Processes, env: dict[str, str], port: int) -> None:
    """Migrate the metadata database, then the api-server (healthy first: tasks report to it), scheduler,
    dag-processor and triggerer."""
    _step(processes, "Migrating Airflow's metadata database (Postgres)", [*AIRFLOW, "db", "migrate"], env)
    home = Path(env["AIRFLOW_HOME"])
    executor = env["AIRFLOW__CORE__EXECUTOR"]
    print(f"==> Starting api-server, scheduler, dag-processor and triggerer ({executor}; logs in {home})", flush=True)
    server_log = home / "api-server.log"
    server = processes.start([*AIRFLOW, "api-server", "-H", "127.0.0.1", "-p", str(port)], env, server_log)
    _wait_healthy(f"http://127.0.0.1:{port}/api/v2/monitor/health", server, server_log)
    for service in ("scheduler", "dag-processor", "triggerer"):
        processes.start([*AIRFLOW, service], env, home / f"{service}.log")


def wait_for_pipeline(processes: Processes, metadata: str, dag_ids: list[str], timeout: float = RUN_TIMEOUT) -> None:
    """Wait until every ingest DAG's first scheduled run and the build runs their Asset events started
    have succeeded, with no build left to run; print each run as it ends. Fails at the first failed run."""
    import psycopg

    conninfo = metadata.replace("postgresql+psycopg://", "postgresql://")
    ingest = [dag_id for dag_id in dag_ids if dag_id != BUILD_DAG]
    seen: set[tuple[str, str]] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in processes.running:
            if proc.poll() is not None:
                raise SystemExit(
                    f"{' '.join(str(a) for a in proc.args)} exited ({proc.returncode}); "
                    f"see the logs in {Path(str(proc.args[-1])).parent}"
                )
        try:
            with psycopg.connect(conninfo, connect_timeout=5) as conn:
                runs = conn.execute(
                    "SELECT dag_id, run_id, run_type, state, extract(epoch FROM end_date - start_date) "
                    "FROM dag_run WHERE dag_id = ANY(%s) ORDER BY start_date",
                    (dag_ids,),
                ).fetchall()
                pending_builds = conn.execute(
                    "SELECT count(*) FROM asset_dag_run_queue WHERE target_dag_id = %s", (BUILD_DAG,)
                ).fetchone()
        except psycopg.Error:
            runs, pending_builds = [], (1,)  # tables not there yet: the services are starting
        for dag_id, run_id, run_type, state, seconds in runs:
            if state in ("success", "failed") and (dag_id, run_id) not in seen:
                seen.add((dag_id, run_id))
                print(f"    {dag_id}: {state} ({run_type}, {seconds or 0:.0f}s)", flush=True)
            if state == "failed":
                raise SystemExit(f"{dag_id} run {run_id} failed: see it in the Airflow UI or the logs")
        done = {dag_id for dag_id, _, _, state, _ in runs if state == "success"}
        busy = any(dag_id == BUILD_DAG and state in ("queued", "running") for dag_id, _, _, state, _ in runs)
        if set(ingest) <= done and BUILD_DAG in done and not busy and pending_builds == (0,):
            return
        time.sleep(1)
    raise SystemExit(f"the pipeline did not finish in {timeout:.0f}s")


def _step(processes: Processes, title: str, argv: list[str], env: dict[str, str]) -> None:
    print(f"==> {title}", flush=True)
    started = time.monotonic()
    log_file = Path(env["AIRFLOW_HOME"]) / "demo-steps.log"
    proc = processes.start(argv, env, log_file)
    try:
        returncode = proc.wait()
    finally:
        processes.stop(proc)
    if returncode != 0:
        tail = log_file.read_text(errors="replace").splitlines()[-40:]
        raise SystemExit(f"{' '.join(argv)} failed (exit {returncode}); last lines of {log_file}:\n" + "\n".join(tail))
    print(f"    done in {time.monotonic() - started:.1f}s", flush=True)


def summary_table(dsn: str) -> str:
    """The per-delivery summary as a text table."""
    from sms_tracking import db

    with closing(db.connect(dsn)) as conn:
        rows = conn.execute(
            """SELECT s.delivery_id, left(coalesce(d.name, '?'), 28), coalesce(d.provider, '?'),
                      CASE WHEN s.is_proof THEN 'yes' ELSE 'no' END,
                      s.sent, s.success, s.delivered, s.failed, s.pending, s.hard, s.soft, s.ignored,
                      CASE WHEN s.sent > 0 THEN round(100.0 * s.success / s.sent, 1) END
                 FROM sms_tracking.delivery_summary s
                 LEFT JOIN sms_tracking.delivery d USING (delivery_id)
                ORDER BY d.created_at NULLS LAST, s.delivery_id"""
        ).fetchall()
        totals = conn.execute(
            """SELECT (SELECT count(*) FROM sms_tracking.report), (SELECT count(*) FROM sms_tracking.reject),
                      (SELECT count(*) FROM sms_tracking.qualification WHERE state = 'to_qualify')"""
        ).fetchone()
    header = (
        "delivery",
        "name",
        "provider",
        "proof",
        "sent",
        "success",
        "delivered",
        "failed",
        "pending",
        "hard",
        "soft",
        "ignored",
        "success %",
    )
    table = [header, *[tuple("" if v is None else str(v) for v in row) for row in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    assert totals is not None
    lines.append(f"\n{totals[0]} reports stored, {totals[1]} lines rejected, {totals[2]} codes to qualify.")
    return "\n".join(lines)


def serve_ui(processes: Processes, port: int) -> None:
    """Print the UI's address and wait until a signal stops the demo (or a service exits)."""
    print(f"\nAirflow UI: http://127.0.0.1:{port}/  (login {LOGIN[0]} / {LOGIN[1]})")
    print(f"SMS Tracking view: Browse > SMS Tracking, or http://127.0.0.1:{port}/plugin/sms-tracking")
    print("The scheduler keeps running the DAGs on their schedules. Press Ctrl-C to stop.", flush=True)
    while all(proc.poll() is None for proc in processes.running):
        time.sleep(1)
    ended = next(proc for proc in processes.running if proc.poll() is not None)
    raise SystemExit(f"{' '.join(str(a) for a in ended.args)} exited ({ended.returncode})")


def _wait_healthy(url: str, server: subprocess.Popen[bytes], log_path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"airflow api-server exited ({server.returncode}); see {log_path}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http://127.0.0.1 URL
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"airflow api-server not healthy after {timeout:.0f}s; see {log_path}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev demo", description=__doc__)
    parser.add_argument(
        "--no-ui",
        action="store_true",
        default=os.environ.get("SMS_TRACKING_DEMO_NO_UI") == "1",
        help="run the pipeline, print the summary and exit (also SMS_TRACKING_DEMO_NO_UI=1)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="    %(message)s")
    started = time.monotonic()

    from sms_tracking_dev.local_postgres import LocalPostgres, wait_until_ready

    demo_dir().mkdir(parents=True, exist_ok=True)
    # This process reads Airflow's configuration too (the [sms_tracking] settings): from the demo's home,
    # never by creating ~/airflow/airflow.cfg.
    os.environ["AIRFLOW_HOME"] = str(demo_dir() / "airflow")
    processes = Processes(demo_dir() / "processes")
    cluster = None
    try:
        with stopped_by_signals():
            try:
                processes.stop_leftovers()
                dsn = os.environ.get("SMS_TRACKING_DSN") or os.environ.get("AIRFLOW_CONN_SMS_TRACKING_POSTGRES")
                if dsn:
                    print("==> Using the configured Postgres (SMS_TRACKING_DSN / AIRFLOW_CONN_SMS_TRACKING_POSTGRES)")
                else:
                    print(f"==> Starting the embedded Postgres in {demo_dir() / 'postgres'}", flush=True)
                    cluster = LocalPostgres(demo_dir() / "postgres")
                    dsn = cluster.start()  # stops the server a killed run left first
                    wait_until_ready(dsn)
                port = int(os.environ.get("SMS_TRACKING_DEMO_PORT", "0")) or _free_port()
                metadata = metadata_dsn(dsn)
                env = services_env(airflow_env(demo_dir() / "airflow", dsn), metadata, port)
                start_services(processes, env, port)
                print("==> Waiting for the scheduled ingest runs and the build their Asset events trigger", flush=True)
                wait_for_pipeline(processes, metadata, pipeline_dag_ids())
                print("\nPer-delivery summary (sms_tracking.delivery_summary):\n")
                print(summary_table(dsn))
                print(f"\nPipeline finished in {time.monotonic() - started:.0f}s.", flush=True)
                if not args.no_ui:
                    serve_ui(processes, port)
            finally:
                _ignore_stop_signals()
                print("==> Stopping what the demo started", flush=True)
                processes.stop_all()
                if cluster is not None:
                    cluster.stop()
    except Stop as stop:
        print(f"Stopped by {stop}.", flush=True)
        return 128 + stop.signum
    return 0


if __name__ == "__main__":
    sys.exit(main())
