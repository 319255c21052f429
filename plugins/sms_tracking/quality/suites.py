"""The suites, as data: each table (or query under ``include/sql/quality``) and the checks of its rows.

A check is one GX expectation named by its class; its severity comes from ``include/config/quality.yaml``
(:mod:`sms_tracking.quality.config`). Nothing here imports GX.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sms_tracking import db, exclusions, quarantine
from sms_tracking.phone import E164
from sms_tracking.qualification import DELIVERY_STATUSES, FAILURE_TYPES

SCHEMA = "sms_tracking"


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
    ``rows_of_table``: the query returns rows of ``table``, at most one per row, their columns as stored
    (as a ``where`` does), so the table's unique indexes hold for them. ``copy``: the rows cost more to
    compute than to copy (a probe or a join per row, recomputed figures), so they are computed once into a
    scratch table; the other suites' rows, filters of stored rows, are read by GX through a view.
    """

    name: str
    table: str
    keys: tuple[str, ...]
    checks: tuple[Check, ...]
    where: str | None = None
    query: str | None = None
    requires: tuple[str, ...] = ()
    rows_of_table: bool = False
    copy: bool = False

    def source(self) -> str | None:
        """The table whose rows (a subset, as stored) the suite validates; None when its query computes them."""
        return self.table if self.rows_of_table or not self.query else None

    def sql(self) -> str:
        """The SQL template of the rows to validate."""
        if self.query:
            return db.sql_text(f"quality/{self.query}")
        text = f"SELECT * FROM {SCHEMA}.{self.table}"
        return f"{text} WHERE {self.where}" if self.where else text


def not_null(column: str) -> Check:
    return Check(
        f"{column}_not_null", "ExpectColumnValuesToNotBeNull", f"{column} set on every row", {"column": column}
    )


def key(*columns: str) -> tuple[Check, ...]:
    """Key columns not null, and unique together."""
    unique = (
        Check("key_unique", "ExpectColumnValuesToBeUnique", f"{columns[0]} unique", {"column": columns[0]})
        if len(columns) == 1
        else Check(
            "key_unique",
            "ExpectCompoundColumnsToBeUnique",
            f"({', '.join(columns)}) unique",
            {"column_list": list(columns)},
        )
    )
    return (*(not_null(c) for c in columns), unique)


def in_set(column: str, values: Sequence[str] | Param) -> Check:
    known = f"the {values.name} of quality.yaml" if isinstance(values, Param) else ", ".join(values)
    return Check(
        f"{column}_in_set",
        "ExpectColumnValuesToBeInSet",
        f"every {column} one of {known}",
        {"column": column, "value_set": values},
    )


def qualified(status: str) -> tuple[Check, ...]:
    """What a qualification gives a message: its status (in ``status``), failure type and failure reason."""
    return (
        in_set(status, DELIVERY_STATUSES),
        in_set("failure_type", FAILURE_TYPES),
        in_set("failure_reason", Param("failure_reasons")),
    )


def e164(column: str) -> Check:
    return Check(
        f"{column}_format",
        "ExpectColumnValuesToMatchRegex",
        f"every {column} in E.164 form (+, then at most 15 digits)",
        {"column": column, "regex": E164},
    )


def not_in_future(column: str) -> Check:
    return Check(
        f"{column}_not_in_future",
        "ExpectColumnValuesToBeBetween",
        f"no {column} later than now + future_tolerance_minutes",
        {"column": column, "max_value": Param("future_limit")},
    )


OBJECTS_IN_SCOPE = "object_id IN {objects}"

# fmt: off
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
          requires=("qualification", "message"), rows_of_table=True, copy=True, checks=(
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
        *qualified("outcome"),
        in_set("state", ("to_qualify", "keep", "ignore")),
        Check("all_qualified", "ExpectColumnValuesToBeInSet",
              "no (status, code) is waiting to be qualified (state 'to_qualify')",
              {"column": "state", "value_set": ["keep", "ignore"]}),
    )),
    Suite("delivery_log", "delivery_log", ("provider", "provider_message_id"), query="delivery_log.sql",
          requires=("delivery_summary",), rows_of_table=True, checks=(
        *key("provider", "provider_message_id"),
        *qualified("status"),
        e164("phone_e164"),
        Check("done_after_submit", "ExpectColumnValuesToBeBetween",
              "a message is done no earlier than it was submitted (within done_before_submit_tolerance_seconds)",
              {"column": "submit_to_done_seconds", "min_value": Param("min_submit_to_done_seconds")}),
        not_in_future("done_at"),
        not_in_future("last_report_at"),
    )),
    Suite("delivery_summary", "delivery_summary", ("delivery_id",), query="delivery_summary.sql",
          requires=("delivery_log",), copy=True, checks=(
        *key("delivery_id"),
        Check("agrees_with_delivery_log", "ExpectColumnValuesToBeNull",
              "every count of the summary equals its delivery log's, and "
              "sent = delivered + failed + pending + cancelled",
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
        in_set("reason", exclusions.REASONS),
        e164("phone_e164"),
        not_in_future("prepared_at"),
    )),
    Suite("quarantine", "quarantine", ("phone_e164",), query="quarantine.sql", requires=("delivery_summary",
          "delivery_log"), rows_of_table=True, copy=True, checks=(
        *key("phone_e164"),
        e164("phone_e164"),
        in_set("status", quarantine.STATUSES),
        Check("error_count_not_negative", "ExpectColumnValuesToBeBetween", "error counters are never negative",
              {"column": "error_count", "min_value": 0}),
        not_in_future("last_error_at"),
    )),
    Suite("quarantine_history", "quarantine_history", ("id", "phone_e164"), requires=("delivery_summary",),
          where="delivery_id IN {run_deliveries}", checks=(
        *key("id"),
        e164("phone_e164"),
        in_set("from_status", quarantine.STATUSES),
        in_set("to_status", quarantine.STATUSES),
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
# fmt: on


def check_ids(suites: Iterable[Suite] | None = None) -> list[str]:
    """``<suite>.<check>`` of every check: the ids the severity configuration uses."""
    return [f"{suite.name}.{check.name}" for suite in (SUITES if suites is None else suites) for check in suite.checks]


def resolve_kwargs(kwargs: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    resolved = {}
    for name, value in kwargs.items():
        if isinstance(value, Param):
            if value.name not in params:
                raise KeyError(f"no run-time value for {value.name!r}")
            value = params[value.name]
        resolved[name] = list(value) if isinstance(value, tuple) else value
    return resolved
