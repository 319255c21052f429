"""The package's settings: one declaration, the ``[sms_tracking]`` section of Airflow's configuration.

Each option is declared once, as a field of :class:`Settings` (type, default, description, example).
The same declaration feeds the provider's ``config`` (so ``airflow config list`` shows the section and
its defaults), the generated table of docs/operations.md, and the typed object the code reads.

An option is read, in this order, from Airflow's configuration (``AIRFLOW__SMS_TRACKING__<KEY>``,
``airflow.cfg``, the ``_cmd`` and ``_secret`` variants, which Airflow honours for sensitive options only),
then from the legacy ``SMS_TRACKING_<KEY>`` environment variable (deprecated: it warns, naming the new
key), then from the declared default. "Set in Airflow" is decided by those sources, never by comparing
with the default, which Airflow itself returns for an unset option once the provider is installed.
:func:`get_settings` reads them each time it is called (per task, per request), never at import.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from sms_tracking.errors import SettingsError

log = logging.getLogger(__name__)

SECTION = "sms_tracking"
LEGACY_PREFIX = "SMS_TRACKING_"
DSN_SHORTCUT = "SMS_TRACKING_DSN"
"""Demo and tests only: a bare DSN used instead of the Airflow connection (not a setting of the section)."""

# --------------------------------------------------------------------------------------------------
# Value grammars (each raises ValueError with what it expected and what it found)

_DURATION_TERM = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])", re.IGNORECASE)
_BARE_SECONDS = re.compile(r"\d+(?:\.\d+)?")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_duration(text: str, bare_seconds: bool = False) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``1d``, ``1.5h`` or a sum such as ``1d12h``; with ``bare_seconds``, also a
    bare number of seconds (``86400``), which the duration settings have always accepted."""
    cleaned = text.strip()
    if bare_seconds and _BARE_SECONDS.fullmatch(cleaned):
        return timedelta(seconds=float(cleaned))
    terms = _DURATION_TERM.findall(cleaned)
    if not terms or _DURATION_TERM.sub("", cleaned).strip():
        seconds = "seconds (86400) or " if bare_seconds else ""
        raise ValueError(f"{text!r} is not a duration: give {seconds}a number with s, m, h or d (24h, 30m, 1d12h)")
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[unit.lower()] for n, unit in terms))


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    period = parse_duration(str(value), bare_seconds=True)
    if period <= timedelta(0):
        raise ValueError(f"expected a positive duration, found {value!r}")
    return period


def _number(low: float, high: float | None = None, *, low_inclusive: bool = True, what: str) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        above = number >= low if low_inclusive else number > low
        if not (above and (high is None or number <= high)):  # also refuses nan
            raise ValueError(f"expected {what}, found {value!r}")
        return number

    return parse


def _whole(low: int, *, what: str) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        text = str(value).strip()
        if not text.isdigit() or int(text) < low:
            raise ValueError(f"expected {what}, found {value!r}")
        return int(text)

    return parse


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected one of true/false, yes/no, on/off, 1/0, found {value!r}")


def _words(value: Any) -> tuple[str, ...]:
    if isinstance(value, tuple):
        return value
    return tuple(part.strip() for part in str(value).split(",") if part.strip())


def _keywords(value: Any) -> tuple[str, ...]:
    words = _words(value)
    if not words:
        raise ValueError(f"no keyword in {value!r}; give a comma-separated list such as STOP,ARRET")
    return words


def _text(value: Any) -> str:
    return str(value).strip()


def _optional_text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Words = Annotated[tuple[str, ...], BeforeValidator(_words)]
Keywords = Annotated[tuple[str, ...], BeforeValidator(_keywords)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Text = Annotated[str, BeforeValidator(_text)]
OptionalText = Annotated[str | None, BeforeValidator(_optional_text)]


def _option(default: str | None, description: str, example: str | None = None) -> Any:
    """One declared option: its default as written in airflow.cfg, its description and an example."""
    return Field(default=default, description=description, examples=[example] if example else None)


_AIRFLOW_TYPES: dict[Any, str] = {int: "integer", float: "float", bool: "boolean"}
"""Airflow's option type (shown by ``airflow config list``) of each field type; any other is a string."""


# Twilio's and AWS's opt-out words plus ARRET (French short codes).
_STOP_KEYWORDS = "STOP,STOPALL,STOP ALL,UNSUBSCRIBE,CANCEL,END,QUIT,REVOKE,OPTOUT,OPT-OUT,ARRET"


class Settings(BaseModel):
    """Every option of the ``[sms_tracking]`` section, typed and checked (the declaration itself)."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    conn_id: Text = _option(
        "sms_tracking_postgres",
        "Airflow connection (type `postgres`) of the tracking database; every task, the UI and the demo use it",
        "tracking_db",
    )
    landing: OptionalText = _option(
        None,
        "landing location: a folder or an fsspec / ObjectStoragePath URL; empty: `$AIRFLOW_HOME/sms_tracking_landing`",
        "s3://aws_default@sms-reports/landing/",
    )
    sources: OptionalText = _option(
        None, "the sources file; empty: the packaged `include/config/sources.yaml`", "/opt/airflow/sources.yaml"
    )
    max_reject_rate: Annotated[float, BeforeValidator(_number(0, 1, what="a share between 0 and 1"))] = _option(
        "0.05", "an object with a larger share of rejected lines is refused as a whole and fails its task", "0.2"
    )
    work_mem: Text = _option(
        "64MB",
        "`work_mem` and `temp_buffers` of the pipeline's and the UI's sessions (loads stage whole "
        "objects, the build sorts whole batches); empty keeps the server's",
        "256MB",
    )
    max_objects_per_run: Annotated[int, BeforeValidator(_whole(1, what="a whole number, 1 or more"))] = _option(
        "500", "objects loaded per ingest run (the rest wait for the next run)", "2000"
    )
    campaign_schedule: Text = _option(
        "@hourly",
        "cron or preset of `sms_tracking_ingest_campaign` (each report source's is in the sources file)",
        "*/15 * * * *",
    )
    unknown_failure_type: Text = _option("Soft", "failure type given to a status no qualification row knows", "Hard")
    unknown_failure_reason: Text = _option("Not defined", "failure reason given to such a status", "Unknown")
    clock_skew: Duration = _option(
        "2m",
        "how far a report's own date may lie after its arrival or before its message's submission and "
        "still be believed; beyond, the delivery log times it by its arrival ([reliability](reliability.md#time))",
        "15m",
    )
    default_region: OptionalText = _option(
        None, "ISO country used to read national phone numbers (`FR`: `06 12 34 56 78` → `+33612345678`)", "FR"
    )
    quarantine_error_threshold: Annotated[
        int, BeforeValidator(_whole(1, what="a whole number of errors, 1 or more"))
    ] = _option("5", "significant soft errors that put a number in Quarantine ([quarantine](quarantine.md))", "3")
    significant_error_period: Duration = _option(
        "24h",
        "least time between two counted soft errors: seconds (`86400`) or numbers with `s`, `m`, `h`, "
        "`d` (`24h`, `1d12h`; the grammar of every duration setting)",
        "1d12h",
    )
    with_errors_release_days: Annotated[
        float, BeforeValidator(_number(0, low_inclusive=False, what="a positive number of days"))
    ] = _option("10", "days after its last counted error when the cleanup releases a With errors number", "7")
    mailbox_full_release_days: Annotated[
        float, BeforeValidator(_number(0, low_inclusive=False, what="a positive number of days"))
    ] = _option("30", "the same when that error was Mailbox full", "14")
    stop_keywords: Keywords = _option(
        _STOP_KEYWORDS, "inbound texts that denylist the number (whole message, case and accents ignored)", "STOP,ARRET"
    )
    start_keywords: Keywords = _option("START,UNSTOP", "inbound texts that lift the denylist", "START")
    control_group_percent: Annotated[float, BeforeValidator(_number(0, 100, what="a percentage between 0 and 100"))] = (
        _option(
            "0",
            "share of each non-proof delivery held out as a control group at preparation ([exclusions](exclusions.md))",
            "5",
        )
    )
    qualification_overrides: OptionalText = _option(
        None,
        "qualification rows the `sms_tracking_requalify` DAG writes with origin `user`; empty: the "
        "packaged `include/config/qualification_overrides.yaml`",
        "/opt/airflow/qualification_overrides.yaml",
    )
    opt_out_days: Annotated[int, BeforeValidator(_whole(0, what="a whole number of days >= 0"))] = _option(
        "7", "a STOP received this many days after a message counts as that delivery's opt-out ([kpis](kpis.md))", "3"
    )
    bot_click_seconds: Annotated[float, BeforeValidator(_number(0, what="a number of seconds >= 0"))] = _option(
        "2", "a click this soon after delivery is flagged as a bot ([tracking](tracking.md))", "1.5"
    )
    bot_user_agents: Words = _option(
        "",
        "user-agent fragments of link previews and scanners, comma-separated, added to the documented "
        "list ([tracking](tracking.md))",
        "AcmeMailGuard,OtherScanner",
    )
    validation_retention_days: Annotated[int, BeforeValidator(_whole(1, what="a whole number of days, 1 or more"))] = (
        _option(
            "90",
            "the cleanup DAG deletes older validation results, each check's latest kept ([quality](quality.md))",
            "30",
        )
    )
    quality_config: OptionalText = _option(
        None,
        "which expectations are critical, their thresholds ([quality](quality.md)); empty: the packaged "
        "`include/config/quality.yaml`",
        "/opt/airflow/quality.yaml",
    )
    data_docs: OptionalText = _option(
        None,
        "where Great Expectations' Data Docs are built (a shared volume on several nodes); empty: "
        "`$AIRFLOW_HOME/sms_tracking_data_docs`",
        "/opt/airflow/data_docs",
    )
    pull_timeout: Annotated[float, BeforeValidator(_number(0, low_inclusive=False, what="seconds > 0"))] = _option(
        "30", "seconds an API pull waits for the connection and for each read ([pull](pull.md))", "10"
    )
    pull_max_attempts: Annotated[int, BeforeValidator(_whole(1, what="a whole number, 1 or more"))] = _option(
        "5", "tries of one page, the first included ([pull](pull.md))", "3"
    )
    pull_backoff: Annotated[float, BeforeValidator(_number(0, what="seconds >= 0"))] = _option(
        "2", "the first delay between tries, doubled each time ([pull](pull.md))", "0.5"
    )
    pull_backoff_max: Annotated[float, BeforeValidator(_number(0, what="seconds >= 0"))] = _option(
        "60", "no delay between tries (backoff or Retry-After) is longer ([pull](pull.md))", "30"
    )
    pull_max_wait: Annotated[float, BeforeValidator(_number(0, what="seconds >= 0"))] = _option(
        "300",
        "total seconds one page may wait between tries; a longer Retry-After gives up at once ([pull](pull.md))",
        "120",
    )
    mask_phones: Flag = _option(
        "true", "mask phone numbers in the UI for users who may not manage quarantine ([ui](ui.md))", "false"
    )
    manage_dag_id: Text = _option(
        "sms_tracking_build",
        "users who may edit this DAG may release numbers and see them unmasked ([ui](ui.md))",
        "sms_tracking_admin",
    )
    ui_statement_timeout_ms: Annotated[
        int, BeforeValidator(_whole(1, what="a whole number of milliseconds, 1 or more"))
    ] = _option("15000", "statement timeout of the UI's read-only queries, in milliseconds ([ui](ui.md))", "30000")

    # Derived values: the defaults that depend on where Airflow lives or on the package's files.

    @property
    def landing_url(self) -> str:
        """The landing location, or ``$AIRFLOW_HOME/sms_tracking_landing`` (beside Airflow's own files)."""
        return self.landing or str(_airflow_home() / "sms_tracking_landing")

    @property
    def data_docs_dir(self) -> Path:
        """Where Data Docs are built and served, or ``$AIRFLOW_HOME/sms_tracking_data_docs``."""
        return Path(self.data_docs).expanduser() if self.data_docs else _airflow_home() / "sms_tracking_data_docs"

    def config_file(self, name: str) -> Path:
        """``sources``, ``quality_config`` or ``qualification_overrides``: the configured file or the packaged one."""
        from sms_tracking import resources

        configured = getattr(self, name)
        packaged = {
            "sources": "sources.yaml",
            "quality_config": "quality.yaml",
            "qualification_overrides": "qualification_overrides.yaml",
        }[name]
        return Path(configured) if configured else resources.config_dir() / packaged


def _airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser()


_NO_LEGACY = frozenset({"conn_id"})
"""Options that never had an ``SMS_TRACKING_*`` variable."""
_BLANK_KEPT = frozenset({"work_mem"})
"""Options whose empty value means something (the server's work_mem); any other empty value is the default."""


def legacy_name(key: str) -> str | None:
    """The deprecated environment variable of an option, if it had one."""
    return None if key in _NO_LEGACY else LEGACY_PREFIX + key.upper()


def new_names(key: str) -> str:
    """How the deprecation warning names an option's new home."""
    return f"[{SECTION}] {key} (AIRFLOW__{SECTION.upper()}__{key.upper()})"


def declared_default(key: str) -> str | None:
    default = Settings.model_fields[key].default
    return None if default is None else str(default)


def airflow_names(key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Where Airflow's own sources hold an option: its environment variables and its config-file keys.

    ``_CMD`` / ``_SECRET`` (``_cmd`` / ``_secret`` in the file) are how a command or the secrets
    backend gives a value.
    """
    env = f"AIRFLOW__{SECTION.upper()}__{key.upper()}"
    return (env, f"{env}_CMD", f"{env}_SECRET"), (key, f"{key}_cmd", f"{key}_secret")


def _from_airflow(key: str) -> str | None:
    """The option as Airflow's configuration has it when one of Airflow's own sources sets it, else None.

    Set means in the environment, the config file, a command or the secrets backend, not Airflow's
    default: once the package is installed Airflow answers an unset option with the declared default,
    which must not hide a legacy variable, while an explicit value equal to the default must.
    """
    from configparser import ConfigParser

    from airflow.configuration import conf

    env_names, file_keys = airflow_names(key)
    in_env = any(name in os.environ for name in env_names)
    # The file's own keys only (configparser's view, as Airflow's file lookup asks), not the defaults.
    in_file = any(ConfigParser.has_option(conf, SECTION, name) for name in file_keys)
    if not (in_env or in_file):
        return None
    value = conf.get(SECTION, key, fallback=None, suppress_warnings=True)
    return None if value is None else str(value)


def _from_legacy(key: str, environ: Mapping[str, str]) -> str | None:
    name = legacy_name(key)
    value = environ.get(name) if name else None
    if value is None:
        return None
    message = f"{name} is deprecated: set {new_names(key)} instead"
    warnings.warn(message, DeprecationWarning, stacklevel=4)
    log.warning("%s", message)
    return value


def raw_values(environ: Mapping[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """Each option that is set: its text and where it came from (for error messages)."""
    env = os.environ if environ is None else environ
    found: dict[str, tuple[str, str]] = {}
    for key in Settings.model_fields:
        value = _from_airflow(key)
        origin = f"[{SECTION}] {key}"
        if value is None:
            value = _from_legacy(key, env)
            origin = f"{origin} (from {legacy_name(key)})"
        if value is None or (not value.strip() and key not in _BLANK_KEPT):
            continue
        found[key] = (value, origin)
    return found


def get_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings as configured now; a bad value raises :class:`SettingsError` naming the option and where
    it was set (not a ValueError: neither a pydantic validator nor a file reader may mistake it for its own)."""
    raw = raw_values(environ)
    try:
        return Settings(**{key: value for key, (value, _) in raw.items()})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else "?"
            where = raw[key][1] if key in raw else f"[{SECTION}] {key} (default)"
            reason = error.get("ctx", {}).get("error") or error["msg"]
            problems.append(f"{where}: {reason}")
        raise SettingsError("; ".join(problems)) from None


# --------------------------------------------------------------------------------------------------
# The declaration, as Airflow's provider config and as the docs' table


def provider_config(version_added: str = "0.1.0") -> dict[str, Any]:
    """The ``config`` entry of ``get_provider_info()``: the section with each option's type, default, example."""
    options = {}
    for key, field in Settings.model_fields.items():
        options[key] = {
            "description": field.description,
            "version_added": version_added,
            "type": _AIRFLOW_TYPES.get(field.annotation, "string"),
            "example": field.examples[0] if field.examples else None,
            "default": declared_default(key),
        }
    return {
        SECTION: {
            "description": "SMS Tracking: delivery reports, quarantine, KPIs and the UI view (docs/operations.md).",
            "options": options,
        }
    }


def settings_table() -> str:
    """The Markdown table of docs/operations.md, generated from the declaration."""
    rows = ["| option (`[sms_tracking]`) | default | meaning |", "|---|---|---|"]
    for key, field in Settings.model_fields.items():
        default = declared_default(key)
        shown = f"`{default}`" if default else "—"
        rows.append(f"| `{key}` | {shown} | {field.description} |")
    return "\n".join(rows) + "\n"
