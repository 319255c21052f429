"""The harness keeps every temporary file of the run in the session's folder, which the session removes
at its end (``pytest_sessionfinish`` in conftest fails a run that leaves any of it behind)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def test_temporary_files_go_to_the_session_folder(session_dir: Path, tmp_path: Path) -> None:
    assert session_dir.name.startswith("sms-tracking-tests-")
    assert Path(tempfile.gettempdir()) == session_dir
    assert tmp_path.is_relative_to(session_dir)
    assert Path(os.environ["AIRFLOW_HOME"]).is_relative_to(session_dir)
    child = subprocess.run(
        [sys.executable, "-c", "import tempfile; print(tempfile.gettempdir())"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert Path(child.stdout.strip()) == session_dir
