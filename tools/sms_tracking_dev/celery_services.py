"""CeleryExecutor beside the demo's services (``sms_tracking_dev.demo``): Debian's Redis as the broker and
``airflow celery worker`` processes, for the ``services`` tests and ``bench/celery_ingest.py``.

Each worker runs in a folder of its own (its working directory, Airflow home and logs); what it shares with
the scheduler is the network services (databases, broker, API server), the DAG files and what
docs/scaling.md says must be shared: the landing location and the Data Docs.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sms_tracking_dev import project_dir
from sms_tracking_dev.demo import AIRFLOW, Processes

WORKER_NAME = "SMS_TRACKING_DEV_WORKER"


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the workers: they run on one machine, so each task instance records
    its worker's name (``-H``) instead of the machine's."""
    return os.environ[WORKER_NAME]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_ping(port: int) -> bool:
    with socket.socket() as sock, suppress(OSError):
        sock.settimeout(1)
        sock.connect(("127.0.0.1", port))
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")
    return False


@contextmanager
def redis_server(folder: Path, timeout: float = 30) -> Iterator[str]:
    """Debian's ``redis-server`` on 127.0.0.1 and a free port, without persistence, as ``nobody`` when we
    are root (as the private Postgres runs); yields the broker URL and stops the server after the block.
    ``folder`` must be reachable by ``nobody`` (not under a 0700 parent)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is missing: install Debian's redis-server (scripts/ensure-redis.sh)")
    folder.mkdir(parents=True, exist_ok=True)
    user = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    port = _free_port()
    argv = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
    ]
    with (folder / "redis.log").open("w") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
            start_new_session=True,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
        )
    try:
        deadline = time.monotonic() + timeout
        while not _answers_ping(port):
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited ({proc.returncode}): {(folder / 'redis.log').read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer within {timeout:.0f} s")
            time.sleep(0.2)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def celery_settings(broker: str, concurrency: int = 2) -> dict[str, str]:
    """CeleryExecutor on this Redis (database 0 the queue, 1 the results, as docker-compose.yaml's celery
    profile); nothing prefetched, so a queued task goes to whichever worker has a free slot."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CELERY__RESULT_BACKEND": broker.rsplit("/", 1)[0] + "/1",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency),
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
    }


def start_worker(processes: Processes, env: dict[str, str], name: str, folder: Path, log: Path) -> None:
    """``airflow celery worker -H name`` in ``folder`` (its cwd; its Airflow home and logs inside), with the
    services' environment ``env``."""
    home = folder / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    worker_env = {
        **env,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
        "PYTHONPATH": os.pathsep.join(p for p in (str(project_dir() / "tools"), env.get("PYTHONPATH")) if p),
        WORKER_NAME: name,
    }
    processes.start([*AIRFLOW, "celery", "worker", "-H", name], worker_env, log, cwd=folder)
