"""Development tools of the repository, not part of the ``sms-tracking`` distribution: the demo runner, the
private Postgres cluster, the sample-data generator (used by ``./dev``, the tests and ``bench/``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def sample_landing() -> Path:
    """The bundled sample landing folder (``include/sample_data/landing``, linked into this package)."""
    return Path(str(files("sms_tracking_dev") / "sample_landing"))


def project_dir() -> Path:
    """The repository checkout the tools run in: ``./dev`` and ``bench/run.py`` start from its top."""
    root = Path.cwd()
    if not (root / "dags").is_dir() or not (root / "plugins" / "sms_tracking").is_dir():
        raise SystemExit(f"{root} is not the sms-tracking checkout: run this through ./dev from the repository")
    return root
