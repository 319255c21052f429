"""What the tests that start real servers share: free ports, databases on the session's Postgres server,
``airflow api-server`` with the simple auth manager and its tokens, and stopping what a test started.

Each was written again by the browser, wheel and services tests; one copy here keeps them alike.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

API_SECRET = "sms-tracking-test-" + "x" * 40
"""The api-server's JWT and session secret (32 bytes or more, so PyJWT does not warn)."""

ADMIN_PASSWORD = "admin"
"""The password of the simple auth manager's user admin, unless a test gives its own."""
_left_running: list[Callable[[], None]] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database(server: str, name: str, scheme: str = "postgresql") -> str:
    """The same server and role, database ``name``, as a URL (the form Airflow connections take)."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(server)
    return (
        f"{scheme}://{params.get('user', 'postgres')}:{params.get('password', '')}"
        f"@{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}/{name}"
    )


def admin(server: str, statement: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(statement)


def rows(dsn: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """The rows of one query, on a connection of its own."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params or None).fetchall()


@contextmanager
def schema_before(dsn: str, folder: Path, migration: str) -> Iterator[Any]:
    """A connection to ``dsn`` whose schemas are dropped and migrated afresh up to ``migration`` (``"0022"``),
    without it and without the functions and views folders: the block writes the rows a database had then, committed
    after it, for a test of what ``migration`` does to them."""
    from sms_tracking import db

    migrations, empty = folder / "migrations", folder / "empty"
    migrations.mkdir()
    empty.mkdir()
    for path in sorted(db.MIGRATIONS_DIR.glob("*.sql")):
        if path.stem < migration:
            shutil.copy(path, migrations / path.name)
    admin(dsn, "DROP SCHEMA sms_tracking, sms_tracking_bi, sms_tracking_work CASCADE")
    with pytest.MonkeyPatch.context() as patched, db.connect(dsn) as conn:
        patched.setattr(db, "MIGRATIONS_DIR", migrations)
        patched.setattr(db, "FUNCTIONS_DIR", empty)
        patched.setattr(db, "VIEWS_DIR", empty)  # today's functions and views read later migrations' columns
        db.migrate(conn)
        yield conn
        conn.commit()


def stop_on_teardown(stop: Callable[[], None]) -> None:
    """Run ``stop`` when the current test ends, passed or failed (the root conftest's autouse fixture)."""
    _left_running.append(stop)


def stop_left_running() -> None:
    while _left_running:
        _left_running.pop()()


def stop_group(process: subprocess.Popen[Any], grace: float = 20) -> None:
    """Stop a process started with ``start_new_session=True`` and all it started: TERM, then KILL."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def get_json(url: str, token: str | None = None) -> tuple[int, Any]:
    """(status, JSON body) of a GET, with the bearer token if given; an HTTP error's body is None."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (our own http:// URL)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our own http:// URL)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def token(base: str, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    """A token of the simple auth manager (``POST /auth/token``)."""
    request = urllib.request.Request(  # noqa: S310 (our own http:// URL)
        f"{base}/auth/token",
        method="POST",
        headers={"Content-Type": "application/json"},
        data=json.dumps({"username": username, "password": password}).encode(),
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our own http:// URL)
        return str(json.loads(response.read())["access_token"])


def _healthy(base: str) -> bool:
    try:
        return get_json(f"{base}/api/v2/monitor/health")[0] == 200
    except OSError:
        return False


@contextmanager
def api_server(
    airflow: list[str],
    env: Mapping[str, str],
    folder: Path,
    log: Path,
    password: str = ADMIN_PASSWORD,
    timeout: float = 120,
) -> Iterator[str]:
    """``airflow api-server`` on a free port of 127.0.0.1 with the simple auth manager's user admin, run in
    ``folder``; yields its base URL once healthy and stops it, with all it started, after the block."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    passwords = folder / "passwords.json"
    passwords.write_text(json.dumps({"admin": password}))
    env = {
        **env,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": API_SECRET,
        "AIRFLOW__API__SECRET_KEY": API_SECRET,
        "AIRFLOW__API__BASE_URL": base,
    }
    with log.open("w") as out:
        server = subprocess.Popen(
            [*airflow, "api-server", "-H", "127.0.0.1", "-p", str(port)],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(base):
            if server.poll() is not None:
                pytest.fail(f"airflow api-server exited with {server.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"airflow api-server not healthy after {timeout} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield base
    finally:
        stop_group(server)
