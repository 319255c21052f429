"""Configuration: the sources file and the settings, each with one documented home.

Settings are the ``[sms_tracking]`` section (:mod:`sms_tracking.settings`); sources come from
``include/config/sources.yaml`` (or the ``sources`` option). Reading them touches no database or
network, so DAG files may call :func:`load_sources` at parse time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

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
    send_log: bool = False
    """The source's reports also write the send log: a provider's message log is the only record of the sends."""
    send_log_field: str | None = None
    """The field of the provider's record whose value (and the day) names a message's delivery, not its sender."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


TRANSPORTS = ("files", "api")


def _api_format(provider: str) -> str:
    """The format of the pages an API pull writes: what the provider's API answers."""
    from sms_tracking.pull import API_SPECS

    spec = API_SPECS.get(provider)
    return spec.format if spec else ""


_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} must be lower-case letters, digits and _ (a letter first, 63 at most)")
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ValueError, ZoneInfoNotFoundError):
        raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Paris)") from None
    return value


Text = Annotated[str, BeforeValidator(lambda v: "" if v is None else str(v).strip())]
Options = Annotated[dict[str, str], BeforeValidator(lambda v: {str(k): str(x) for k, x in (v or {}).items()})]


class SourceEntry(BaseModel):
    """One entry of the sources file, as written (docs/sources.md)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, AfterValidator(_name)]
    provider: Annotated[Text, Field(min_length=1)]
    format: Text = ""
    """An api source may leave it out: it is what the provider's API answers."""
    path: Annotated[Text, Field(min_length=1)]
    tz: Annotated[str, AfterValidator(_zone)] = "UTC"
    schedule: str | None = "@hourly"
    options: Options = {}
    transport: Literal["files", "api"] = "files"
    conn_id: Text = ""
    send_log: bool = False
    """The reports are the provider's message log and also write the send log (docs/sources.md#send_log)."""
    send_log_field: Text = ""
    """With send_log: the field (Twilio's API name, e.g. messaging_service_sid) that names the delivery."""

    @model_validator(mode="after")
    def _consistent(self) -> SourceEntry:
        from sms_tracking.reports import FORMATS

        if self.transport == "api":
            if not self.conn_id:
                raise ValueError("missing conn_id (an api source names its Airflow HTTP connection)")
            self._check_api()
        else:
            if self.conn_id:
                raise ValueError(
                    "conn_id is for transport api; a files source names its connection in the path URL "
                    "(s3://conn_id@bucket/prefix/)"
                )
            if not self.format:
                raise ValueError("missing format")
        if self.format not in FORMATS:
            raise ValueError(f"format {self.format!r} is not one of {sorted(FORMATS)}")
        if FORMATS[self.format].provider not in (self.provider, "*"):
            raise ValueError(
                f"format {self.format!r} reads {FORMATS[self.format].provider} reports, not {self.provider!r}"
            )
        if self.send_log_field and not self.send_log:
            raise ValueError("send_log_field names the deliveries of a send log: set send_log: true too")
        if self.send_log and not FORMATS[self.format].message_log:
            logs = sorted(name for name, spec in FORMATS.items() if spec.message_log)
            raise ValueError(
                f"send_log needs a provider's message log (to, from, submit time of every message): format "
                f"{self.format!r} is not one; {', '.join(logs)} are"
            )
        return self

    def _check_api(self) -> None:
        """An api source: a provider with a pull, the format its pages are in, readable pull options."""
        from sms_tracking.pull import API_SPECS, pull_options

        spec = API_SPECS.get(self.provider)
        if spec is None:
            raise ValueError(
                f"provider {self.provider!r} has no API pull; transport api supports {', '.join(sorted(API_SPECS))}"
            )
        if not self.format:
            self.format = spec.format
        if self.format != spec.format:
            raise ValueError(
                f"the {self.provider} API answers format {spec.format!r}, not {self.format!r} (leave format out)"
            )
        pull_options(self.provider, self.options)

    def source(self) -> Source:
        values = {f.name: getattr(self, f.name) for f in fields(Source)}
        return Source(**{**values, "conn_id": self.conn_id or None, "send_log_field": self.send_log_field or None})


class SourcesFile(BaseModel):
    """The sources file: a list of sources with distinct names."""

    model_config = ConfigDict(extra="forbid")

    sources: Annotated[list[SourceEntry], BeforeValidator(lambda v: v or [])] = []

    @model_validator(mode="after")
    def _distinct(self) -> SourcesFile:
        names = [entry.name for entry in self.sources]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate source name {', '.join(map(repr, duplicates))}")
        return self


def load_sources(path: Path | None = None) -> list[Source]:
    """Read and check the sources file; a mistake names the file, the source and the field."""
    from sms_tracking.settings import get_settings
    from sms_tracking.yaml_files import read_yaml

    path = path or get_settings().config_file("sources")
    return [entry.source() for entry in read_yaml(path, SourcesFile, {"sources": "source"}).sources]
