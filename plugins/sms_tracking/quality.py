"""Data-quality checks of the build: Great Expectations suites declared as data, and the runner.

A suite is a table (or a query under ``include/sql/quality``), the rows of it a run touched, and a list
of checks; each check is one GX expectation whose severity comes from ``include/config/quality.yaml``.
The runner validates what the run wrote, stores one row per check in ``sms_tracking.validation_result``,
builds Data Docs and raises :class:`ValidationFailed` when a critical check fails. GX costs seconds to
import, so it is imported inside :func:`validate_run` only (docs/quality.md).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sms_tracking import db
from sms_tracking.config import PROJECT_DIR

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

DEFAULT_CONFIG_FILE = PROJECT_DIR / "include" / "config" / "quality.yaml"
SCHEMA = "sms_tracking"
DOCS_SITE = "sms_tracking"
E164 = r"^\+[1-9][0-9]{1,14}$"
"""E.164: a plus, a country code that does not start with 0, at most 15 digits in all."""

Severity = Literal["critical", "warning", "disabled"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "disabled")


# --- Suites, as data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A value known at run time only (a threshold, the clock), put into an expectation's arguments."""

    name: str


@dataclass(frozen=True)
class Check:
    """One expectation: a GX class of ``great_expectations.expectations`` and its arguments."""

    name: str
    expectation: str
    description: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def expectation_type(self) -> str:
        """GX's snake-case name of the expectation (``expect_column_values_to_be_unique``)."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.expectation).lower()

    @property
    def unique_columns(self) -> tuple[str, ...] | None:
        """The columns a uniqueness check keys on; None for other checks."""
        if self.expectation == "ExpectColumnValuesToBeUnique":
            return (str(self.kwargs["column"]),)
        if self.expectation == "ExpectCompoundColumnsToBeUnique":
            return tuple(self.kwargs["column_list"])
        return None

    @property
    def marker(self) -> str:
        """The scratch-table column where :func:`mark_duplicates` counts a uniqueness check's duplicates."""
        return f"_rows_sharing_{self.name}"[:63]

    @property
    def column(self) -> str | None:
        """The column(s) the check reads, for the results table."""
        kwargs = self.kwargs
        if "column" in kwargs:
            return str(kwargs["column"])
        if "column_A" in kwargs:
            return f"{kwargs['column_A']},{kwargs['column_B']}"
        if "column_list" in kwargs:
            return ",".join(kwargs["column_list"])
        return None


@dataclass(frozen=True)
class Suite:
    """A table, the rows of it one run validates, the columns that name a row, and its checks.

    ``where`` filters the table (placeholders in :func:`render_sql`); ``query`` names a file under
    ``include/sql/quality`` to read instead, for checks that need computed columns. ``requires`` lists
    the other tables that query reads: the suite is skipped when one of them does not exist yet.
    """

    name: str
    table: str
    keys: tuple[str, ...]
    checks: tuple[Check, ...]
    where: str | None = None
    query: str | None = None
    requires: tuple[str, ...] = ()

    def sql(self) -> str:
        """The SQL template of the rows to validate."""
        if self.query:
            return db.sql_text(f"quality/{self.query}")
        text = f"SELECT * FROM {SCHEMA}.{self.table}"
        return f"{text} WHERE {self.where}" if self.where else text


def not_null(column: str) -> Check:
    return Check(f"{column}_not_null", "ExpectColumnValuesToNotBeNull", f"{column} set on every row",
                 {"column": column})


def key(*columns: str) -> tuple[Check, ...]:
    """Key columns not null, and unique together."""
    unique = (
        Check("key_unique", "ExpectColumnValuesToBeUnique", f"{columns[0]} unique", {"column": columns[0]})
        if len(columns) == 1
        else Check("key_unique", "ExpectCompoundColumnsToBeUnique", f"({', '.join(columns)}) unique",
                   {"column_list": list(columns)})
    )
    return (*(not_null(c) for c in columns), unique)


def in_set(column: str, values: Sequence[str] | Param) -> Check:
    known = f"the {values.name} of quality.yaml" if isinstance(values, Param) else ", ".join(values)
    return Check(f"{column}_in_set", "ExpectColumnValuesToBeInSet", f"every {column} one of {known}",
                 {"column": column, "value_set": values})


def e164(column: str) -> Check:
    return Check(f"{column}_format", "ExpectColumnValuesToMatchRegex",
                 f"every {column} in E.164 form (+, then at most 15 digits)", {"column": column, "regex": E164})


def not_in_future(column: str) -> Check:
    return Check(f"{column}_not_in_future", "ExpectColumnValuesToBeBetween",
                 f"no {column} later than now + future_tolerance_minutes",
                 {"column": column, "max_value": Param("future_limit")})


OBJECTS_IN_SCOPE = "object_id IN {objects}"
STATUSES = ("pending", "delivered", "failed")
QUARANTINE_STATUSES = ("Valid", "With errors", "Quarantine", "Denylisted", "Allowlisted")
EXCLUSION_REASONS = ("Address empty", "Invalid number", "Duplicate", "Quarantined", "Denylisted", "Control group")
FAILURE_TYPES = ("Hard", "Soft", "Ignored")

SUITES: tuple[Suite, ...] = (
    Suite("source_object", "source_object", ("object_id", "source", "uri"), where=OBJECTS_IN_SCOPE, checks=(
        in_set("kind", ("deliveries", "targets", "sends", "reports", "clicks", "inbound")),
        in_set("status", ("loaded", "rejected", "superseded")),
        Check("finished_after_started", "ExpectColumnPairValuesAToBeGreaterThanB",
              "an object finished loading no earlier than it started",
              {"column_A": "finished_at", "column_B": "started_at", "or_equal": True}),
        not_in_future("finished_at"),
    )),
    Suite("report", "report", ("report_id", "provider", "provider_message_id", "raw_status"), query="report.sql",
          requires=("qualification", "message"), checks=(
        not_null("provider"),
        not_null("provider_message_id"),
        not_null("raw_status"),
        Check("natural_key_unique", "ExpectCompoundColumnsToBeUnique",
              "a report is stored once per (provider, message, status, code, event time)",
              {"column_list": ["provider", "provider_message_id", "raw_status", "error_code", "event_at"]}),
        Check("status_known", "ExpectColumnValuesToBeInSet",
              "every report's status is one the qualification table qualifies (not 'unknown' or 'to_qualify')",
              {"column": "status_qualification", "value_set": ["keep", "ignore"]}),
        Check("matched_to_sent_message", "ExpectColumnValuesToNotBeNull",
              "reports match a sent message, but for at most orphan_max_share of them (orphans)",
              {"column": "sent_message_id", "mostly": Param("orphan_min_matched_share")}),
        not_in_future("event_at"),
        not_in_future("received_at"),
    )),
    Suite("reject", "reject", ("object_id", "position"), where=OBJECTS_IN_SCOPE, checks=(
        *key("object_id", "position"),
        not_null("reason"),
    )),
    Suite("delivery", "delivery", ("delivery_id",), where=OBJECTS_IN_SCOPE, checks=(
        *key("delivery_id"),
        not_null("provider"),
        not_in_future("created_at"),
    )),
    Suite("target", "target", ("delivery_id", "recipient_id"), where=OBJECTS_IN_SCOPE, checks=(
        *key("delivery_id", "recipient_id"),
        e164("phone_e164"),
    )),
    Suite("message", "message", ("provider", "provider_message_id"), where=OBJECTS_IN_SCOPE, checks=(
        *key("provider", "provider_message_id"),
        not_null("delivery_id"),
        e164("phone_e164"),
        not_in_future("submitted_at"),
        Check("segments_positive", "ExpectColumnValuesToBeBetween", "every message has at least one segment",
              {"column": "segments", "min_value": 1}),
        Check("recipient_sent_once", "ExpectCompoundColumnsToBeUnique",
              "a recipient is sent one message per delivery", {"column_list": ["delivery_id", "recipient_id"]}),
    )),
    Suite("click", "click", ("click_key", "delivery_id"), where=OBJECTS_IN_SCOPE, checks=(
        *key("click_key"),
        not_null("delivery_id"),
        not_null("url"),
        not_in_future("clicked_at"),
    )),
    Suite("inbound_message", "inbound_message", ("inbound_key", "provider"), where=OBJECTS_IN_SCOPE, checks=(
        *key("inbound_key"),
        e164("phone_e164"),
        not_in_future("received_at"),
    )),
    Suite("qualification", "qualification", ("provider", "raw_status", "error_code"), checks=(
        *key("provider", "raw_status", "error_code"),
        in_set("outcome", STATUSES),
        in_set("failure_type", FAILURE_TYPES),
        in_set("failure_reason", Param("failure_reasons")),
        in_set("state", ("to_qualify", "keep", "ignore")),
        Check("all_qualified", "ExpectColumnValuesToBeInSet",
              "no (status, code) is waiting to be qualified (state 'to_qualify')",
              {"column": "state", "value_set": ["keep", "ignore"]}),
    )),
    Suite("delivery_log", "delivery_log", ("provider", "provider_message_id"), query="delivery_log.sql",
          requires=("delivery_summary",), checks=(
        *key("provider", "provider_message_id"),
        in_set("status", STATUSES),
        in_set("failure_type", FAILURE_TYPES),
        in_set("failure_reason", Param("failure_reasons")),
        e164("phone_e164"),
        Check("done_after_submit", "ExpectColumnValuesToBeBetween",
              "a message is done no earlier than it was submitted (within done_before_submit_tolerance_seconds)",
              {"column": "submit_to_done_seconds", "min_value": Param("min_submit_to_done_seconds")}),
        not_in_future("done_at"),
        not_in_future("last_report_at"),
    )),
    Suite("delivery_summary", "delivery_summary", ("delivery_id",), query="delivery_summary.sql",
          requires=("delivery_log",), checks=(
        *key("delivery_id"),
        Check("agrees_with_delivery_log", "ExpectColumnValuesToBeNull",
              "every count of the summary equals its delivery log's, and sent = delivered + failed + pending",
              {"column": "disagreement"}),
    )),
    Suite("stuck_messages", "delivery_log", ("provider", "provider_message_id", "delivery_id"),
          query="stuck_messages.sql", checks=(
        Check("final_status_in_time", "ExpectColumnValuesToBeBetween",
              "no message stays without a final status longer than stuck_after_hours",
              {"column": "hours_without_final_status", "max_value": Param("stuck_after_hours")}),
    )),
    Suite("exclusion", "exclusion", ("delivery_id", "recipient_id"), where="delivery_id IN {run_deliveries}",
          requires=("delivery_summary",), checks=(
        *key("delivery_id", "recipient_id"),
        in_set("reason", EXCLUSION_REASONS),
        e164("phone_e164"),
        not_in_future("prepared_at"),
    )),
    Suite("quarantine", "quarantine", ("phone_e164",), requires=("delivery_summary", "delivery_log"),
          where="phone_e164 IN (SELECT phone_e164 FROM sms_tracking.delivery_log"
                " WHERE delivery_id IN {run_deliveries})",
          checks=(
        *key("phone_e164"),
        e164("phone_e164"),
        in_set("status", QUARANTINE_STATUSES),
        Check("error_count_not_negative", "ExpectColumnValuesToBeBetween", "error counters are never negative",
              {"column": "error_count", "min_value": 0}),
        not_in_future("last_error_at"),
    )),
    Suite("quarantine_history", "quarantine_history", ("id", "phone_e164"), requires=("delivery_summary",),
          where="delivery_id IN {run_deliveries}", checks=(
        *key("id"),
        e164("phone_e164"),
        in_set("from_status", QUARANTINE_STATUSES),
        in_set("to_status", QUARANTINE_STATUSES),
        in_set("cause_kind", ("delivery", "report", "rule", "inbound", "user")),
    )),
    Suite("tracking_log", "tracking_log", ("click_key", "delivery_id"), where="delivery_id IN {run_deliveries}",
          requires=("delivery_summary",), checks=(
        *key("click_key"),
        not_null("delivery_id"),
        not_null("url"),
        in_set("method", ("GET", "HEAD", "POST")),
        not_in_future("clicked_at"),
    )),
    Suite("audit_event", "audit_event", ("event", "delivery_id"), where="run_id = {run_id}", checks=(
        not_null("event"),
        not_null("message"),
        in_set("level", ("info", "warning", "error")),
        not_in_future("at"),
    )),
    Suite("source_freshness", "source_object", ("source",), query="source_freshness.sql", checks=(
        Check("loaded_once", "ExpectColumnValuesToNotBeNull", "every expected source has loaded an object",
              {"column": "last_loaded_at"}),
        Check("fresh", "ExpectColumnValuesToBeBetween",
              "every source loaded an object within its freshness.max_age_hours",
              {"column": "hours_overdue", "max_value": 0}),
    )),
)
"""Every suite. Add one for a new table in a few lines: the table, its key, where its run's rows are."""


def check_ids(suites: Iterable[Suite] | None = None) -> list[str]:
    """``<suite>.<check>`` of every check: the ids the severity configuration uses."""
    return [f"{suite.name}.{check.name}" for suite in (SUITES if suites is None else suites) for check in suite.checks]


# --- Configuration --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityConfig:
    """``include/config/quality.yaml``, checked: thresholds, freshness, failure reasons, severities."""

    stuck_after_hours: float
    stuck_lookback_days: int
    future_tolerance_minutes: float
    done_before_submit_tolerance_seconds: float
    orphan_max_share: float
    sample_size: int
    freshness_default_hours: float
    freshness_hours: Mapping[str, float]
    failure_reasons: tuple[str, ...]
    severity_default: Severity
    severity_rules: Mapping[Severity, tuple[str, ...]]

    def severity(self, check_id: str) -> Severity:
        for level, patterns in self.severity_rules.items():
            if any(fnmatch.fnmatchcase(check_id, pattern) for pattern in patterns):
                return level
        return self.severity_default


_THRESHOLDS = {
    "stuck_after_hours": (float, 0.0, None),
    "stuck_lookback_days": (int, 1, None),
    "future_tolerance_minutes": (float, 0.0, None),
    "done_before_submit_tolerance_seconds": (float, 0.0, None),
    "orphan_max_share": (float, 0.0, 1.0),
    "sample_size": (int, 1, 100),
}


def load_config(path: Path | None = None, suites: Sequence[Suite] | None = None) -> QualityConfig:
    """Read and check the quality file; a mistake names the key and what was expected."""
    import yaml

    path = path or Path(os.environ.get("SMS_TRACKING_QUALITY_CONFIG", DEFAULT_CONFIG_FILE))
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return parse_config(document, where=str(path), suites=suites)


def parse_config(document: Mapping[str, Any], where: str = "quality config",
                 suites: Sequence[Suite] | None = None) -> QualityConfig:
    """The checked configuration from the YAML document (pure, so it is tested without files)."""
    _known_keys(document, {"thresholds", "freshness", "failure_reasons", "severity"}, where)
    thresholds = document.get("thresholds") or {}
    _known_keys(thresholds, set(_THRESHOLDS), f"{where}: thresholds")
    values: dict[str, Any] = {}
    for name, (kind, low, high) in _THRESHOLDS.items():
        if name not in thresholds:
            raise ValueError(f"{where}: thresholds.{name} is missing")
        values[name] = _number(thresholds[name], kind, low, high, f"{where}: thresholds.{name}")

    freshness = document.get("freshness") or {}
    _known_keys(freshness, {"default_max_age_hours", "sources"}, f"{where}: freshness")
    default_hours = _number(freshness.get("default_max_age_hours"), float, 0.0, None,
                            f"{where}: freshness.default_max_age_hours")
    per_source = {
        str(name): _number(hours, float, 0.0, None, f"{where}: freshness.sources.{name}")
        for name, hours in (freshness.get("sources") or {}).items()
    }

    reasons = document.get("failure_reasons")
    if not isinstance(reasons, list) or not reasons or not all(isinstance(r, str) and r for r in reasons):
        raise ValueError(f"{where}: failure_reasons must be a non-empty list of reasons")

    severity = document.get("severity") or {}
    _known_keys(severity, {"default", *SEVERITIES}, f"{where}: severity")
    default = severity.get("default", "critical")
    if default not in SEVERITIES:
        raise ValueError(f"{where}: severity.default is {default!r}; expected one of {', '.join(SEVERITIES)}")
    rules: dict[Severity, tuple[str, ...]] = {}
    for level in SEVERITIES:
        patterns = severity.get(level) or []
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise ValueError(f"{where}: severity.{level} must be a list of check ids or globs")
        rules[level] = tuple(patterns)
    _check_severity_rules(rules, check_ids(suites), where)

    return QualityConfig(
        **values,
        freshness_default_hours=default_hours,
        freshness_hours=per_source,
        failure_reasons=tuple(reasons),
        severity_default=default,
        severity_rules=rules,
    )


def _known_keys(mapping: Any, allowed: set[str], where: str) -> None:
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{where} must be a mapping, not {type(mapping).__name__}")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(map(str, unknown))}; expected {', '.join(sorted(allowed))}")


def _number(value: Any, kind: type, low: float | None, high: float | None, where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and not isinstance(value, int)):
        raise ValueError(f"{where} is {value!r}; expected {'an integer' if kind is int else 'a number'}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"at least {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"{where} is {value!r}; expected {bounds}")
    return kind(value)


def _check_severity_rules(rules: Mapping[Severity, Sequence[str]], ids: Sequence[str], where: str) -> None:
    """Every pattern names at least one check, and no check is given two severities."""
    for level, patterns in rules.items():
        for pattern in patterns:
            if not any(fnmatch.fnmatchcase(check_id, pattern) for check_id in ids):
                raise ValueError(f"{where}: severity.{level} entry {pattern!r} matches no check; checks are "
                                 f"<suite>.<check>, e.g. {ids[0]} (docs/quality.md lists them)")
    for check_id in ids:
        levels = [level for level, patterns in rules.items()
                  if any(fnmatch.fnmatchcase(check_id, p) for p in patterns)]
        if len(levels) > 1:
            raise ValueError(f"{where}: check {check_id} is listed under severity {' and '.join(levels)}")


# --- Run-time values and SQL ------------------------------------------------------------------------------


def runtime_params(config: QualityConfig, now: datetime, unknown_failure_reason: str | None = None) -> dict[str, Any]:
    """The values :class:`Param` placeholders take in this run."""
    reasons = list(config.failure_reasons)
    if unknown_failure_reason and unknown_failure_reason not in reasons:
        reasons.append(unknown_failure_reason)
    return {
        "future_limit": now + timedelta(minutes=config.future_tolerance_minutes),
        "stuck_after_hours": config.stuck_after_hours,
        "min_submit_to_done_seconds": -config.done_before_submit_tolerance_seconds,
        "orphan_min_matched_share": 1.0 - config.orphan_max_share,
        "failure_reasons": reasons,
    }


def resolve_kwargs(kwargs: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    resolved = {}
    for name, value in kwargs.items():
        if isinstance(value, Param):
            if value.name not in params:
                raise KeyError(f"no run-time value for {value.name!r}")
            value = params[value.name]
        resolved[name] = list(value) if isinstance(value, tuple) else value
    return resolved


def literal(value: Any) -> str:
    """A value as a quoted SQL literal: GX query assets take SQL text, not bound parameters."""
    from psycopg import sql

    return sql.Literal(value).as_string(None)


def sql_values(config: QualityConfig, sources: Iterable[str]) -> dict[str, str]:
    """The scope-independent placeholders of the suite queries (the freshness list)."""
    names = dict.fromkeys(["campaign", *sources, *config.freshness_hours])
    rows = ", ".join(
        f"({literal(name)}, {float(config.freshness_hours.get(name, config.freshness_default_hours))!r})"
        for name in names
    )
    return {"freshness_sources": f"VALUES {rows}", "stuck_lookback_days": str(config.stuck_lookback_days)}


def render_sql(template: str, run_id: str, now: datetime, values: Mapping[str, str]) -> str:
    """A suite's SQL with its placeholders: {run_id}, {objects}, {run_deliveries}, {now} and ``values``."""
    run = literal(run_id)
    # GX wants a query that starts with SELECT: wrapping lets the files open with comments and WITH.
    return "SELECT * FROM (\n" + template.format_map({
        "run_id": run,
        "objects": f"(SELECT object_id FROM {SCHEMA}.validated_object WHERE run_id = {run})",
        "run_deliveries": f"(SELECT delivery_id FROM {SCHEMA}.delivery_summary WHERE refreshed_by_run = {run})",
        "now": literal(now),
        **values,
    }).strip() + "\n) AS rows_in_scope"


def sqlalchemy_url(dsn: str) -> str:
    """The DSN (URI or ``key=value``) as the SQLAlchemy URL GX needs, on psycopg 3's dialect."""
    for scheme in ("postgresql://", "postgres://"):
        if dsn.startswith(scheme):
            return "postgresql+psycopg://" + dsn[len(scheme):]
    if dsn.startswith("postgresql+"):
        return dsn
    from psycopg.conninfo import conninfo_to_dict
    from sqlalchemy.engine import URL

    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    port = params.pop("port", None)
    url = URL.create(
        "postgresql+psycopg", username=params.pop("user", None), password=params.pop("password", None),
        host=params.pop("host", None), port=int(port) if port else None, database=params.pop("dbname", None),
        query=params,
    )
    return url.render_as_string(hide_password=False)


def with_session_settings(url: str) -> str:
    """GX's own connections get the settings ``db.connect`` gives ours (``db.session_settings``): its
    uniqueness checks group whole tables, which spill to disk with the server's 4 MB ``work_mem``."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    settings = " ".join(f"-c {name}={value}" for name, value in db.session_settings().items())
    options = " ".join(filter(None, [parsed.query.get("options"), settings]))  # type: ignore[list-item]
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def data_docs_dir() -> Path:
    """Where Data Docs are built and the UI plugin serves them: ``SMS_TRACKING_DATA_DOCS``, else
    ``<AIRFLOW_HOME>/sms_tracking_data_docs`` (a shared volume in multi-node deployments)."""
    configured = os.environ.get("SMS_TRACKING_DATA_DOCS")
    if configured:
        return Path(configured).expanduser()
    return Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser() / "sms_tracking_data_docs"


# --- Results ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check in one run: a row of ``sms_tracking.validation_result``."""

    suite: str
    table: str
    check: Check
    severity: Severity
    success: bool | None
    element_count: int | None = None
    observed_value: Any = None
    unexpected_count: int | None = None
    unexpected_sample: tuple[Mapping[str, Any], ...] = ()

    @property
    def id(self) -> str:
        return f"{self.suite}.{self.check.name}"

    @property
    def critical(self) -> bool:
        return self.severity == "critical"

    @property
    def failed(self) -> bool:
        return self.success is False

    def message(self) -> str:
        """What failed, where, and the rows that show it: enough to find and fix the data."""
        if isinstance(self.observed_value, Mapping) and "error" in self.observed_value:
            found = f"could not run: {self.observed_value['error']}"
        elif self.unexpected_count is not None:
            found = f"{self.unexpected_count} of {self.element_count} rows unexpected"
        else:
            found = f"observed {_short(self.observed_value)}"
        sample = "; ".join(
            " ".join(f"{k}={_short(v)}" for k, v in row.items()) for row in self.unexpected_sample
        )
        column = f" on {self.check.column}" if self.check.column else ""
        return (f"{SCHEMA}.{self.table}: {self.id} failed — expected {self.check.description} "
                f"[{self.check.expectation_type}{column}]; {found}"
                + (f"; sample rows: {sample}" if sample else ""))


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def result_from_gx(suite: Suite, check: Check, severity: Severity, success: bool,
                   result: Mapping[str, Any], exception: str | None, sample_size: int) -> CheckResult:
    """A check's outcome from GX's result dict; a GX error (bad SQL, missing column) counts as a failure."""
    if exception:
        return CheckResult(suite.name, suite.table, check, severity, False, observed_value={"error": exception})
    rows = result.get("partial_unexpected_index_list") or result.get("partial_unexpected_list") or []
    sample: tuple[Mapping[str, Any], ...] = ()
    if not success:  # duplicates list each of their rows: keep distinct ones
        named = (_sample_row(r, check) for r in rows)
        if check.unique_columns:
            named = ({c: row.get(c) for c in check.unique_columns} for row in named)
        distinct = {json.dumps(row, sort_keys=True): row for row in named}
        sample = tuple(distinct.values())[:sample_size]
    observed = result.get("observed_value")
    if observed is None and "unexpected_percent" in result:
        observed = {"unexpected_percent": result.get("unexpected_percent"),
                    "missing_count": result.get("missing_count")}
    return CheckResult(
        suite.name, suite.table, check, severity, bool(success),
        element_count=result.get("element_count"),
        observed_value=_jsonable(observed),
        unexpected_count=result.get("unexpected_count"),
        unexpected_sample=sample,
    )


def gx_error(info: Mapping[str, Any] | None) -> str | None:
    """The first error GX met computing a check (bad SQL, a missing column), from either shape of its
    exception info: one dict, or one dict per metric."""
    if not info:
        return None
    infos = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, Mapping)]
    for item in infos:
        if item.get("raised_exception"):
            return str(item.get("exception_message") or "unknown error").splitlines()[0][:500]
    return None


def _sample_row(row: Any, check: Check) -> dict[str, Any]:
    """One unexpected row as JSON-ready column: value pairs, whatever shape GX gave it."""
    if isinstance(row, Mapping):
        named = dict(row)
    elif isinstance(row, list | tuple) and "column_A" in check.kwargs:
        named = {check.kwargs["column_A"]: row[0], check.kwargs["column_B"]: row[1]}
    else:
        named = {check.column or "value": row}
    return {str(k): _jsonable(v) for k, v in named.items()}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def skipped(suite: Suite, severity_of: Mapping[str, Severity], missing: Sequence[str]) -> list[CheckResult]:
    """A suite whose table does not exist yet: each check recorded, neither passed nor failed."""
    reason = f"skipped: table missing ({', '.join(f'{SCHEMA}.{t}' for t in missing)})"
    return [CheckResult(suite.name, suite.table, check, severity_of[f"{suite.name}.{check.name}"], None,
                        observed_value=reason)
            for check in suite.checks if severity_of[f"{suite.name}.{check.name}"] != "disabled"]


def passed_empty(suite: Suite, severity_of: Mapping[str, Severity]) -> list[CheckResult]:
    """A suite with no rows in the run's scope: each check passes on zero rows, as in GX, without GX."""
    return [CheckResult(suite.name, suite.table, check, severity_of[f"{suite.name}.{check.name}"], True,
                        element_count=0, observed_value="no rows in scope", unexpected_count=0)
            for check in suite.checks if severity_of[f"{suite.name}.{check.name}"] != "disabled"]


class ValidationFailed(Exception):
    """A critical check failed: the message names each table, check and sample rows."""

    def __init__(self, run_id: str, failures: Sequence[CheckResult], warnings: Sequence[CheckResult]):
        self.run_id = run_id
        self.failures = list(failures)
        self.warnings = list(warnings)
        super().__init__(failure_message(run_id, failures, warnings))


def failure_message(run_id: str, failures: Sequence[CheckResult], warnings: Sequence[CheckResult]) -> str:
    lines = [f"Data validation of run {run_id}: {len(failures)} critical check(s) failed"
             + (f", {len(warnings)} warning(s)" if warnings else "") + ":"]
    lines += [f"- {result.message()}" for result in failures]
    lines += [f"- (warning) {result.message()}" for result in warnings]
    lines.append(f"All results: SELECT * FROM {SCHEMA}.validation_result WHERE run_id = {literal(run_id)}")
    return "\n".join(lines)


# --- The runner -------------------------------------------------------------------------------------------


def validate_run(run_id: str, dsn: str | None = None, config: QualityConfig | None = None,
                 docs: bool = True, suites: Sequence[Suite] | None = None) -> dict[str, Any]:
    """Validate what run ``run_id`` wrote, store the results, build Data Docs; raise on critical failures.

    Returns a summary small enough for an XCom.
    """
    from sms_tracking.config import Settings, load_sources

    started = time.monotonic()
    suites = SUITES if suites is None else suites
    config = config or load_config(suites=suites)
    now = datetime.now(UTC)
    severity_of = {check_id: config.severity(check_id) for check_id in check_ids(suites)}
    params = runtime_params(config, now, Settings.from_env().unknown_failure_reason)
    values = sql_values(config, (source.name for source in load_sources()))

    results: list[CheckResult] = []
    tables: dict[str, str] = {}
    docs_dir = data_docs_dir() if docs else None
    with closing(db.connect(dsn)) as conn:
        db.vacuum_analyze_stale(conn)
        try:
            with conn.transaction():
                existing = existing_tables(conn, {t for suite in suites for t in (suite.table, *suite.requires)})
                objects = claim_objects(conn, run_id)
                deliveries = conn.execute(
                    f"SELECT count(*) FROM {SCHEMA}.delivery_summary WHERE refreshed_by_run = %s", (run_id,)
                ).fetchone()[0]  # type: ignore[index]
                drop_stale_work_tables(conn, now)
            # Something to validate: import GX while Postgres computes the suites' rows below.
            importer = start_gx_import() if objects or deliveries else None
            for suite in suites:
                if all(severity_of[f"{suite.name}.{c.name}"] == "disabled" for c in suite.checks):
                    continue
                missing = [t for t in (suite.table, *suite.requires) if t not in existing]
                if missing:
                    results += skipped(suite, severity_of, missing)
                    continue
                table = work_table(suite, run_id, now)
                unique = [c for c in suite.checks
                          if c.unique_columns and severity_of[f"{suite.name}.{c.name}"] != "disabled"]
                if materialise(conn, table, render_sql(suite.sql(), run_id, now, values), unique):
                    tables[suite.name] = table
                else:
                    results += passed_empty(suite, severity_of)
            runnable = [suite for suite in suites if suite.name in tables]
            if importer is not None:
                importer.join()
            if runnable:  # else nothing to validate: spare the GX import
                url = with_session_settings(sqlalchemy_url(dsn or os.environ.get("SMS_TRACKING_DSN") or _airflow_uri()))
                results += _run_gx(url, runnable, tables, severity_of, params, run_id, now, config.sample_size,
                                   docs_dir)
        finally:
            drop_work_tables(conn, tables.values())
        with conn.transaction():
            write_results(conn, run_id, results)

    failures = [r for r in results if r.failed and r.critical]
    warnings = [r for r in results if r.failed and not r.critical]
    for result in warnings:
        log.warning("Warning: %s", result.message())
    summary = {
        "run_id": run_id,
        "objects": objects,
        "deliveries": deliveries,
        "checks": len(results),
        "passed": sum(1 for r in results if r.success),
        "failed_critical": [r.id for r in failures],
        "failed_warning": [r.id for r in warnings],
        "skipped": sorted({r.suite for r in results if r.success is None}),
        "data_docs": str(docs_dir) if docs_dir else None,
        "seconds": round(time.monotonic() - started, 2),
    }
    log.info(
        "Validated run %s (%d objects, %d deliveries): %d checks, %d passed, %d critical and %d warning "
        "failures, skipped suites %s, in %.1fs",
        run_id, objects, deliveries, summary["checks"], summary["passed"], len(failures), len(warnings),
        summary["skipped"] or "none", summary["seconds"],
    )
    if failures:
        raise ValidationFailed(run_id, failures, warnings)
    return summary


DEFAULT_RETENTION_DAYS = 90


def purge_results(reference_time: datetime, dsn: str | None = None) -> dict[str, int]:
    """Delete validation results older than ``SMS_TRACKING_VALIDATION_RETENTION_DAYS`` (90) at
    ``reference_time`` (the cleanup run's data interval end), keeping each check's latest."""
    text = os.environ.get("SMS_TRACKING_VALIDATION_RETENTION_DAYS", str(DEFAULT_RETENTION_DAYS))
    try:
        days = int(text)
    except ValueError:
        raise ValueError(f"SMS_TRACKING_VALIDATION_RETENTION_DAYS: expected a number of days, found {text!r}") from None
    if days < 1:
        raise ValueError(f"SMS_TRACKING_VALIDATION_RETENTION_DAYS: expected 1 or more days, found {days}")
    before = reference_time - timedelta(days=days)
    with closing(db.connect(dsn)) as conn, conn.transaction():
        deleted = db.run_sql_file(conn, "cleanup/validation_results.sql", {"before": before})
    log.info("Deleted %d validation results from before %s (each check's latest kept)", deleted, before.isoformat())
    return {"deleted": deleted, "retention_days": days}


def _airflow_uri() -> str:
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    return str(PostgresHook(postgres_conn_id=db.CONN_ID).get_uri())


def existing_tables(conn: psycopg.Connection[Any], tables: Iterable[str]) -> set[str]:
    rows = conn.execute(
        "SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(%s || '.' || quote_ident(t)) IS NOT NULL",
        (sorted(tables), SCHEMA),
    ).fetchall()
    return {row[0] for row in rows}


WORK_SCHEMA = "sms_tracking_work"
WORK_TABLE_MAX_AGE = timedelta(days=1)


def work_table(suite: Suite, run_id: str, now: datetime) -> str:
    """The scratch table of a suite's rows: named after the run (a retry replaces its own) and the time (so
    a killed task's leftovers can be told by age)."""
    run = hashlib.sha256(run_id.encode()).hexdigest()[:10]
    return f"v{int(now.timestamp())}_{run}_{suite.name}"


def materialise(conn: psycopg.Connection[Any], table: str, query: str, unique: Sequence[Check] = ()) -> int:
    """Compute a suite's rows once into an unlogged table (committed, so GX's own connection reads it),
    with the duplicate counts of its ``unique`` checks; returns the row count. An empty table is dropped
    at once."""
    with conn.transaction():
        conn.execute(f"DROP TABLE IF EXISTS {WORK_SCHEMA}.{table}")
        rows = conn.execute(f"CREATE UNLOGGED TABLE {WORK_SCHEMA}.{table} AS {query}").rowcount
        if not rows:
            conn.execute(f"DROP TABLE {WORK_SCHEMA}.{table}")
        for check in unique if rows else ():
            mark_duplicates(conn, f"{WORK_SCHEMA}.{table}", check)
    return rows


def mark_duplicates(conn: psycopg.Connection[Any], table: str, check: Check) -> None:
    """Count, in the check's marker column, the rows sharing each row's key (NULL when none does).

    GX then checks that column is NULL. Its own uniqueness expectations join the table to its grouped
    self, 3-8 s per check on a million rows and a third of a 1M validation; this is one hash aggregate
    (plus a join with the duplicates, when there are any). As in GX, rows whose key columns are all NULL
    are not compared; NULLs compare equal, as in the tables' unique indexes.
    """
    columns = check.unique_columns or ()
    key = ", ".join(f'"{c}"' for c in columns)
    conn.execute(f'ALTER TABLE {table} ADD COLUMN "{check.marker}" bigint')
    conn.execute(
        f"""UPDATE {table} t SET "{check.marker}" = d.rows
              FROM (SELECT ROW({key})::text AS key, count(*) AS rows FROM {table}
                     WHERE {" OR ".join(f'"{c}" IS NOT NULL' for c in columns)}
                     GROUP BY {key} HAVING count(*) > 1) d
             WHERE ROW({", ".join(f't."{c}"' for c in columns)})::text = d.key""")


def drop_work_tables(conn: psycopg.Connection[Any], tables: Iterable[str]) -> None:
    """Drop a validation's scratch tables; on a broken connection, leave them to :func:`drop_stale_work_tables`."""
    import psycopg

    try:
        conn.rollback()
        with conn.transaction():
            for table in tables:
                conn.execute(f"DROP TABLE IF EXISTS {WORK_SCHEMA}.{table}")
    except psycopg.Error as exc:
        log.warning("Scratch tables of this validation not dropped (%s); a later validation drops them", exc)


def drop_stale_work_tables(conn: psycopg.Connection[Any], now: datetime) -> None:
    """Drop the scratch tables of validations killed more than a day ago (a live one ends long before)."""
    names = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s", (WORK_SCHEMA,)
    ).fetchall()
    horizon = (now - WORK_TABLE_MAX_AGE).timestamp()
    for (name,) in names:
        match = re.match(r"v(\d+)_", name)
        if match and int(match.group(1)) < horizon:
            log.info("Dropping %s.%s, left by a validation that did not finish", WORK_SCHEMA, name)
            conn.execute(f"DROP TABLE IF EXISTS {WORK_SCHEMA}.{name}")


def claim_objects(conn: psycopg.Connection[Any], run_id: str) -> int:
    """Take every object no run validated yet as this run's scope; returns the scope's size.

    A retry of the run keeps the objects it took before, so it validates the same rows and more.
    """
    conn.execute(
        f"""INSERT INTO {SCHEMA}.validated_object (object_id, run_id)
            SELECT o.object_id, %s FROM {SCHEMA}.source_object o
             WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA}.validated_object v WHERE v.object_id = o.object_id)
            ON CONFLICT DO NOTHING""",
        (run_id,),
    )
    row = conn.execute(f"SELECT count(*) FROM {SCHEMA}.validated_object WHERE run_id = %s", (run_id,)).fetchone()
    return int(row[0]) if row else 0


def write_results(conn: psycopg.Connection[Any], run_id: str, results: Sequence[CheckResult]) -> None:
    """Replace the run's rows in ``validation_result``: a retry's outcome is the run's outcome."""
    from psycopg.types.json import Jsonb

    conn.execute(f"DELETE FROM {SCHEMA}.validation_result WHERE run_id = %s", (run_id,))
    with conn.cursor() as cur:
        cur.executemany(
            f"""INSERT INTO {SCHEMA}.validation_result (
                    run_id, suite, table_name, expectation, expectation_type, column_name, description, success,
                    critical, element_count, observed_value, unexpected_count, unexpected_sample)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            [
                (run_id, r.suite, r.table, r.check.name, r.check.expectation_type, r.check.column,
                 r.check.description, r.success, r.critical, r.element_count,
                 Jsonb(r.observed_value) if r.observed_value is not None else None, r.unexpected_count,
                 Jsonb(list(r.unexpected_sample)) if r.unexpected_sample else None)
                for r in results
            ],
        )


def _quiet_gx() -> None:
    """Before GX is imported: no usage statistics, and only its warnings in the task log."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def start_gx_import() -> threading.Thread:
    """Import GX in a thread and return it (join it before using GX).

    The import takes 3-4 s of this process's CPU (scipy, pydantic models); the suites' rows take the
    server's, and this process only waits for them, so the two overlap. A failed import is not lost: the
    import in :func:`_run_gx` runs it again and raises.
    """
    def run() -> None:
        _quiet_gx()
        try:
            import great_expectations.expectations  # noqa: F401
        except Exception:
            log.debug("Importing GX in the background failed", exc_info=True)

    thread = threading.Thread(target=run, name="gx-import", daemon=True)
    thread.start()
    return thread


def _run_gx(url: str, suites: Sequence[Suite], tables: Mapping[str, str], severity_of: Mapping[str, Severity],
            params: Mapping[str, Any], run_id: str, now: datetime, sample_size: int,
            docs_dir: Path | None) -> list[CheckResult]:
    """Validate each suite with GX Core in an ephemeral context, offline and without progress bars.

    Every check runs with GX's BASIC result format and no sample values; only the failed ones run again
    with the key columns of their sample rows (SUMMARY), which costs more.
    """
    _quiet_gx()
    started = time.monotonic()
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    imported = time.monotonic()
    building = docs_dir.parent / f".{docs_dir.name}.building-{os.getpid()}" if docs_dir else None
    context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={DOCS_SITE: {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(building)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "site_section_builders": {"profiling": "None"},
        }} if building else {},
    ))
    source = context.data_sources.add_postgres("sms_tracking", connection_string=url)

    def expectation(check: Check) -> Any:
        if check.unique_columns:  # duplicates counted by mark_duplicates
            return gxe.ExpectColumnValuesToBeNull(column=check.marker, meta={"check": check.name})
        return getattr(gxe, check.expectation)(**resolve_kwargs(check.kwargs, params), meta={"check": check.name})

    results: list[CheckResult] = []
    for suite in suites:
        checks = {c.name: c for c in suite.checks if severity_of[f"{suite.name}.{c.name}"] != "disabled"}
        asset = source.add_table_asset(suite.name, table_name=tables[suite.name], schema_name=WORK_SCHEMA)
        batch_definition = asset.add_batch_definition_whole_table("rows")
        gx_suite = context.suites.add(gx.ExpectationSuite(
            name=suite.name, expectations=[expectation(c) for c in checks.values()]))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=gx_suite))
        # No sample values in this pass (LIMIT 0): fetching them scanned each table once more per check,
        # even when it passed. The failed checks' samples come from the second pass below.
        validation = definition.run(result_format={"result_format": "BASIC", "partial_unexpected_count": 0},
                                    run_id=RunIdentifier(run_name=run_id, run_time=now))
        outcome = {item.expectation_config.meta["check"]: item for item in validation.results}
        failed = [name for name, item in outcome.items() if not item.success and not gx_error(item.exception_info)]
        if failed:
            samples = gx.ExpectationSuite(name=f"{suite.name}_samples",
                                          expectations=[expectation(checks[name]) for name in failed])
            detailed = batch_definition.get_batch().validate(
                samples,
                result_format={"result_format": "SUMMARY", "unexpected_index_column_names": list(dict.fromkeys(
                                   (*suite.keys, *(c for n in failed for c in checks[n].unique_columns or ())))),
                               "partial_unexpected_count": sample_size},
            )
            outcome.update({item.expectation_config.meta["check"]: item for item in detailed.results})
        results += [
            result_from_gx(suite, checks[name], severity_of[f"{suite.name}.{name}"], bool(item.success),
                           item.result or {}, gx_error(item.exception_info), sample_size)
            for name, item in outcome.items()
        ]
    validated = time.monotonic()
    if docs_dir is not None and building is not None:
        try:
            _publish_data_docs(context, building, docs_dir)
        except OSError as exc:  # the results matter more than their pages: keep them
            log.warning("Data Docs not built in %s: %s", docs_dir, exc)
    log.info("GX: import %.1fs, %d suites validated in %.1fs, Data Docs in %.1fs",
             imported - started, len(suites), validated - imported, time.monotonic() - validated)
    return results




def _publish_data_docs(context: Any, building: Path, target: Path) -> None:
    """Build the site beside ``target``, then swap it in, so the UI never serves a half-built site."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(building, ignore_errors=True)
    context.build_data_docs(site_names=[DOCS_SITE])
    previous = target.parent / f".{target.name}.previous-{os.getpid()}"
    if target.exists():
        target.rename(previous)
    building.rename(target)
    shutil.rmtree(previous, ignore_errors=True)
