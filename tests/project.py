"""Where the tests find the checkout's files: the one place, instead of walking up from each module.

``./dev test`` runs pytest from the checkout's top, which is also pytest's rootdir (the folder of
``pyproject.toml``); ``tests/conftest.py`` refuses to run from anywhere else.
"""

from __future__ import annotations

from pathlib import Path

PROJECT = Path.cwd()
SAMPLES = PROJECT / "tests" / "samples"
"""Providers' own published examples the parsers and fakes replay."""
