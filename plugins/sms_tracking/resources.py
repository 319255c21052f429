"""The package's data files, read through ``importlib.resources`` so they are found wherever it is installed.

The wheel maps the repository's ``include/sql``, ``include/seeds`` and ``include/config`` into
``sms_tracking/include/`` (``pyproject.toml``); in a checkout, ``plugins/sms_tracking/include`` is a symlink
to the same folder, so both read the same files by the same names.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def package_dir() -> Path:
    """The installed ``sms_tracking`` folder (a plain directory: Airflow never runs from a zip)."""
    root = files("sms_tracking")
    if not isinstance(root, Path):
        raise RuntimeError(f"sms_tracking must be installed as files on disk, not inside {root!r}")
    return root


def include_dir() -> Path:
    return package_dir() / "include"


def sql_dir() -> Path:
    """``include/sql``: migrations, functions and one folder per pipeline step."""
    return include_dir() / "sql"


def seeds_dir() -> Path:
    return include_dir() / "seeds"


def config_dir() -> Path:
    """``include/config``: the default sources, quality and qualification-overrides files."""
    return include_dir() / "config"


def ui_dir() -> Path:
    """The UI's ``templates`` and ``static`` folders."""
    return package_dir() / "ui"
