"""Configuration: the sources file and the settings, each with one documented home.

Settings come from environment variables (``SMS_TRACKING_*``) with Adobe-like defaults; sources come
from ``include/config/sources.yaml`` (or ``SMS_TRACKING_SOURCES``). Reading them touches no database or
network, so DAG files may call :func:`load_sources` at parse time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sms_tracking import resources

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
    transport: str = "files"
    """``files``: objects appear under ``path``; ``api``: a pull writes them there from the provider's API."""
    conn_id: str | None = None
    """The Airflow HTTP connection of an ``api`` source (docs/pull.md)."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


def default_landing() -> Path:
    """Where the landing location is when none is set: beside Airflow's own files, like the Data Docs."""
    return Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser() / "sms_tracking_landing"


@dataclass(frozen=True)
class Settings:
    """Run-time settings, read from the environment."""

    landing: str
    max_reject_rate: float
    max_objects_per_run: int
    unknown_failure_type: str
    unknown_failure_reason: str
    default_region: str | None
    clock_skew_seconds: float = 120.0
    """How far a report's own date may be after its arrival, or before its message's submission, and still
    be believed (docs/reliability.md)."""

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            landing=os.environ.get("SMS_TRACKING_LANDING") or str(default_landing()),
            max_reject_rate=float(os.environ.get("SMS_TRACKING_MAX_REJECT_RATE", "0.05")),
            max_objects_per_run=int(os.environ.get("SMS_TRACKING_MAX_OBJECTS_PER_RUN", "500")),
            unknown_failure_type=os.environ.get("SMS_TRACKING_UNKNOWN_FAILURE_TYPE", "Soft"),
            unknown_failure_reason=os.environ.get("SMS_TRACKING_UNKNOWN_FAILURE_REASON", "Not defined"),
            default_region=os.environ.get("SMS_TRACKING_DEFAULT_REGION") or None,
            clock_skew_seconds=duration_setting(os.environ, "SMS_TRACKING_CLOCK_SKEW",
                                                timedelta(minutes=2)).total_seconds(),
        )


_DURATION_TERM = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])", re.IGNORECASE)
_BARE_SECONDS = re.compile(r"\d+(?:\.\d+)?")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, bare_seconds: bool = False) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``1d``, ``1.5h`` or a sum such as ``1d12h``; with ``bare_seconds``, also a
    bare number of seconds (``86400``), which the environment settings have always accepted."""
    cleaned = text.strip()
    if bare_seconds and _BARE_SECONDS.fullmatch(cleaned):
        return timedelta(seconds=float(cleaned))
    terms = _DURATION_TERM.findall(cleaned)
    if not terms or _DURATION_TERM.sub("", cleaned).strip():
        seconds = "seconds (86400) or " if bare_seconds else ""
        raise ValueError(f"{text!r} is not a duration: give {seconds}a number with s, m, h or d (24h, 30m, 1d12h)")
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[unit.lower()] for n, unit in terms))


def duration_setting(env: Mapping[str, str], name: str, default: timedelta) -> timedelta:
    """A positive duration from environment variable ``name`` (:func:`parse_duration`, bare seconds allowed)."""
    value = env.get(name)
    if not value:
        return default
    try:
        period = parse_duration(value, bare_seconds=True)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if period <= timedelta(0):
        raise ValueError(f"{name}: expected a positive duration, found {value!r}")
    return period


_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
TRANSPORTS = ("files", "api")


def _api_format(provider: str) -> str:
    """The format of the pages an API pull writes: what the provider's API answers."""
    from sms_tracking.pull import API_SPECS

    spec = API_SPECS.get(provider)
    return spec.format if spec else ""


def _check_api(source: Source, where: str) -> None:
    """An api source: a provider with a pull, the format its pages are in, readable pull options."""
    from sms_tracking.pull import API_SPECS, pull_options

    spec = API_SPECS.get(source.provider)
    if spec is None:
        raise ValueError(
            f"{where} ({source.name}): provider {source.provider!r} has no API pull; "
            f"transport api supports {', '.join(sorted(API_SPECS))}"
        )
    if source.format != spec.format:
        raise ValueError(
            f"{where} ({source.name}): the {source.provider} API answers format {spec.format!r}, "
            f"not {source.format!r} (leave format out)"
        )
    try:
        pull_options(source.provider, source.options)
    except ValueError as exc:
        raise ValueError(f"{where} ({source.name}): {exc}") from None


def load_sources(path: Path | None = None) -> list[Source]:
    """Read and check the sources file; a mistake names the source and the field."""
    import yaml

    from sms_tracking.reports import FORMATS

    path = path or Path(os.environ.get("SMS_TRACKING_SOURCES") or resources.config_dir() / "sources.yaml")
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sources: list[Source] = []
    for index, entry in enumerate(document.get("sources") or [], start=1):
        where = f"{path}: source #{index}"
        transport = str(entry.get("transport") or "files")
        if transport not in TRANSPORTS:
            raise ValueError(f"{where}: transport {transport!r} is not one of {', '.join(TRANSPORTS)}")
        # An api source may leave format out: it is what the provider's API answers.
        required = ("name", "provider", "path", "conn_id" if transport == "api" else "format")
        missing = [key for key in required if not entry.get(key)]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(missing)}")
        source = Source(
            name=str(entry["name"]),
            provider=str(entry["provider"]),
            format=str(entry.get("format") or _api_format(str(entry["provider"]))),
            path=str(entry["path"]),
            tz=str(entry.get("tz", "UTC")),
            schedule=entry.get("schedule", "@hourly"),
            options={str(k): str(v) for k, v in (entry.get("options") or {}).items()},
            transport=transport,
            conn_id=str(entry["conn_id"]) if entry.get("conn_id") else None,
        )
        if not _NAME.match(source.name):
            raise ValueError(f"{where}: name {source.name!r} must be lower-case letters, digits and _")
        if source.transport == "api":
            _check_api(source, where)
        elif source.conn_id:
            raise ValueError(
                f"{where} ({source.name}): conn_id is for transport api; a files source names its connection "
                "in the path URL (s3://conn_id@bucket/prefix/)"
            )
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
