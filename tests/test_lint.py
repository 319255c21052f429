"""``ruff check`` and ``ruff format --check`` are part of the test run: a lint or format slip fails it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tests.project import PROJECT

FOLDERS = (".",)
"""The whole checkout (scripts and the Python examples in docs included), less pyproject's exclusions."""


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_is_clean(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, *FOLDERS], cwd=PROJECT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"ruff {' '.join(command)}:\n{result.stdout}{result.stderr}"
