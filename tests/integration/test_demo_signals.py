"""``./dev demo`` stops everything it started (issue #16): on Ctrl-C (SIGINT to its whole process group,
what a terminal sends), SIGTERM and SIGHUP; and a run killed with ``kill -9`` leaves a Postgres server
and Airflow processes that the next start stops.

Each demo runs in a session of its own with its own ``SMS_TRACKING_DEMO_DIR``. Its processes are found
by that value in their environment (every process it starts inherits it, the Postgres server too), so
"nothing left" means no process on the machine carries it. The signal comes while ``airflow db migrate``
runs: Postgres and an Airflow process are up, a few seconds after the start.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.project import PROJECT
from tests.servers import stop_on_teardown

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

TIMEOUT = 120


def processes_of(demo_dir: Path) -> dict[int, str]:
    """``pid: command line`` of every live process whose environment names this demo folder."""
    marker = f"SMS_TRACKING_DEMO_DIR={demo_dir}".encode()
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            found[int(proc.name)] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    return found


class Demo:
    """``./dev demo --no-ui`` in a session of its own (its PID is its process group), output in a file."""

    def __init__(self, demo_dir: Path, log: Path) -> None:
        self.demo_dir, self.log = demo_dir, log
        configured = ("SMS_TRACKING_DSN", "AIRFLOW_CONN_SMS_TRACKING_POSTGRES")  # the demo starts its own Postgres
        env = {k: v for k, v in os.environ.items() if k not in configured}
        env["SMS_TRACKING_DEMO_DIR"] = str(demo_dir)
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                ["./dev", "demo", "--no-ui"],
                cwd=PROJECT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        stop_on_teardown(self.kill_everything)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_airflow(self) -> dict[int, str]:
        """Wait until Postgres is up and an Airflow process runs; returns the demo's processes then."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the demo ended early:\n{self.output()}"
            running = processes_of(self.demo_dir)
            if "Migrating" in self.output() and any(" -m airflow " in cmd for cmd in running.values()):
                assert any("postgres -D" in cmd for cmd in running.values()), running
                return running
            time.sleep(0.1)
        pytest.fail(f"no Airflow process of the demo after {TIMEOUT} s:\n{self.output()}")

    def data_dir(self) -> Path:
        match = re.search(r"Postgres started on 127\.0\.0\.1:\d+ \((.+)\)", self.output())
        assert match, self.output()
        return Path(match.group(1))

    def wait(self) -> int:
        try:
            return self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the demo did not stop in {TIMEOUT} s:\n{self.output()}")

    def kill_everything(self) -> None:
        """After a failed test: nothing of this demo may outlive the test."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid in processes_of(self.demo_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def demo_dir() -> Iterator[Path]:
    """A demo folder the Postgres user can reach (pytest's tmp_path is private to root), removed after."""
    root = Path(tempfile.mkdtemp(prefix="sms-tracking-demo-test-"))
    root.chmod(0o755)
    yield root / "demo"
    shutil.rmtree(root, ignore_errors=True)


def assert_all_stopped(demo: Demo, data_dir: Path) -> None:
    deadline = time.monotonic() + 10  # the Postgres server's last children exit just after it
    while processes_of(demo.demo_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_of(demo.demo_dir) == {}
    assert not (data_dir / "postmaster.pid").exists(), "the cluster was not shut down"


@pytest.mark.parametrize(
    ("signum", "whole_group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False), (signal.SIGHUP, False)],
    ids=["ctrl-c", "sigterm", "sighup"],
)
def test_a_signal_stops_everything_the_demo_started(
    signum: int, whole_group: bool, demo_dir: Path, tmp_path: Path
) -> None:
    demo = Demo(demo_dir, tmp_path / "demo.log")
    running = demo.wait_for_airflow()
    data_dir = demo.data_dir()
    if whole_group:
        os.killpg(demo.proc.pid, signum)  # what a terminal's Ctrl-C does
    else:
        os.kill(demo.proc.pid, signum)
    assert demo.wait() == 128 + signum, demo.output()
    assert f"Stopped by {signal.Signals(signum).name}." in demo.output()
    assert_all_stopped(demo, data_dir)
    assert all(not Path(f"/proc/{pid}").exists() or pid not in processes_of(demo.demo_dir) for pid in running)


def test_what_a_killed_demo_left_is_stopped_by_the_next_start(demo_dir: Path, tmp_path: Path) -> None:
    first = Demo(demo_dir, tmp_path / "first.log")
    left = first.wait_for_airflow()
    data_dir = first.data_dir()
    first.proc.kill()  # kill -9: no cleanup at all
    first.proc.wait()
    time.sleep(0.5)
    left_running = processes_of(demo_dir)
    assert any("postgres -D" in cmd for cmd in left_running.values()), "the server outlives a killed demo"
    assert any(" -m airflow " in cmd for cmd in left_running.values()), "so do its Airflow processes"

    second = Demo(demo_dir, tmp_path / "second.log")
    second.wait_for_airflow()
    output = second.output()
    assert "left by an earlier run" in output
    assert "Stopping the server a previous run left" in output
    assert "another server might be running" not in output
    still = processes_of(demo_dir)
    assert not set(left) & set(still), f"left by the killed run: {left}, now: {still}"
    os.kill(second.proc.pid, signal.SIGTERM)
    assert second.wait() == 128 + signal.SIGTERM, second.output()
    assert_all_stopped(second, data_dir)
