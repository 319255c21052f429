"""Configuration: the sources file and the settings, each with one documented home.

Settings come from environment variables (``SMS_TRACKING_*``) with Adobe-like defaults; sources come
from ``include/config/sources.yaml`` (or ``SMS_TRACKING_SOURCES``). Reading them touches no database or
network, so DAG files may call :func:`load_sources` at parse time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_SOURCES_FILE = PROJECT_DIR / "include" / "config" / "sources.yaml"
DEFAULT_LANDING = PROJECT_DIR / "include" / "sample_data" / "landing"
CONTRACT_KINDS = ("deliveries", "targets", "sends", "clicks", "inbound")
"""Landing folders of the sending system's data, loaded in this order."""


@dataclass(frozen=True)
class Source:
    """One source of provider reports (see docs/sources.md)."""

    name: str
    provider: str
    format: str
    path: str
    tz: str = "UTC"
    schedule: str | None = "@hourly"
    options: dict[str, str] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


@dataclass(frozen=True)
class Settings:
    """Run-time settings, read from the environment."""

    landing: str
    max_reject_rate: float
    max_objects_per_run: int
    unknown_failure_type: str
    unknown_failure_reason: str
    default_region: str | None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            landing=os.environ.get("SMS_TRACKING_LANDING", str(DEFAULT_LANDING)),
            max_reject_rate=float(os.environ.get("SMS_TRACKING_MAX_REJECT_RATE", "0.05")),
            max_objects_per_run=int(os.environ.get("SMS_TRACKING_MAX_OBJECTS_PER_RUN", "500")),
            unknown_failure_type=os.environ.get("SMS_TRACKING_UNKNOWN_FAILURE_TYPE", "Soft"),
            unknown_failure_reason=os.environ.get("SMS_TRACKING_UNKNOWN_FAILURE_REASON", "Not defined"),
            default_region=os.environ.get("SMS_TRACKING_DEFAULT_REGION") or None,
        )


_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def load_sources(path: Path | None = None) -> list[Source]:
    """Read and check the sources file; a mistake names the source and the field."""
    import yaml

    from sms_tracking.reports import FORMATS

    path = path or Path(os.environ.get("SMS_TRACKING_SOURCES", DEFAULT_SOURCES_FILE))
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sources: list[Source] = []
    for index, entry in enumerate(document.get("sources") or [], start=1):
        where = f"{path}: source #{index}"
        missing = [key for key in ("name", "provider", "format", "path") if not entry.get(key)]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(missing)}")
        source = Source(
            name=str(entry["name"]),
            provider=str(entry["provider"]),
            format=str(entry["format"]),
            path=str(entry["path"]),
            tz=str(entry.get("tz", "UTC")),
            schedule=entry.get("schedule", "@hourly"),
            options={str(k): str(v) for k, v in (entry.get("options") or {}).items()},
        )
        if not _NAME.match(source.name):
            raise ValueError(f"{where}: name {source.name!r} must be lower-case letters, digits and _")
        if source.format not in FORMATS:
            raise ValueError(f"{where} ({source.name}): format {source.format!r} is not one of {sorted(FORMATS)}")
        if FORMATS[source.format].provider not in (source.provider, "*"):
            raise ValueError(
                f"{where} ({source.name}): format {source.format!r} reads {FORMATS[source.format].provider} "
                f"reports, not {source.provider!r}"
            )
        source.zone  # noqa: B018 - fail here on an unknown time zone, not in a task
        if any(s.name == source.name for s in sources):
            raise ValueError(f"{where}: duplicate source name {source.name!r}")
        sources.append(source)
    return sources
