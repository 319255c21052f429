"""The outcome of each check: GX's results read back, the messages that name the bad rows, and the
rows of ``sms_tracking.validation_result``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sms_tracking.errors import PermanentError
from sms_tracking.quality.config import Severity
from sms_tracking.quality.rows import literal
from sms_tracking.quality.suites import SCHEMA, Check, Suite

if TYPE_CHECKING:
    import psycopg


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
        sample = "; ".join(" ".join(f"{k}={_short(v)}" for k, v in row.items()) for row in self.unexpected_sample)
        column = f" on {self.check.column}" if self.check.column else ""
        return (
            f"{SCHEMA}.{self.table}: {self.id} failed — expected {self.check.description} "
            f"[{self.check.expectation_type}{column}]; {found}" + (f"; sample rows: {sample}" if sample else "")
        )


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def result_from_gx(
    suite: Suite,
    check: Check,
    severity: Severity,
    success: bool,
    result: Mapping[str, Any],
    exception: str | None,
    sample_size: int,
) -> CheckResult:
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
        observed = {
            "unexpected_percent": result.get("unexpected_percent"),
            "missing_count": result.get("missing_count"),
        }
    return CheckResult(
        suite.name,
        suite.table,
        check,
        severity,
        bool(success),
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
    return [
        CheckResult(
            suite.name, suite.table, check, severity_of[f"{suite.name}.{check.name}"], None, observed_value=reason
        )
        for check in suite.checks
        if severity_of[f"{suite.name}.{check.name}"] != "disabled"
    ]


def passed_empty(suite: Suite, severity_of: Mapping[str, Severity]) -> list[CheckResult]:
    """A suite with no rows in the run's scope: each check passes on zero rows, as in GX, without GX."""
    return [
        CheckResult(
            suite.name,
            suite.table,
            check,
            severity_of[f"{suite.name}.{check.name}"],
            True,
            element_count=0,
            observed_value="no rows in scope",
            unexpected_count=0,
        )
        for check in suite.checks
        if severity_of[f"{suite.name}.{check.name}"] != "disabled"
    ]


class ValidationFailed(PermanentError):
    """A critical check failed: the message names each table, check and sample rows."""

    def __init__(self, run_id: str, failures: Sequence[CheckResult], warnings: Sequence[CheckResult]):
        self.run_id = run_id
        self.failures = list(failures)
        self.warnings = list(warnings)
        super().__init__(failure_message(run_id, failures, warnings))


def failure_message(run_id: str, failures: Sequence[CheckResult], warnings: Sequence[CheckResult]) -> str:
    lines = [
        f"Data validation of run {run_id}: {len(failures)} critical check(s) failed"
        + (f", {len(warnings)} warning(s)" if warnings else "")
        + ":"
    ]
    lines += [f"- {result.message()}" for result in failures]
    lines += [f"- (warning) {result.message()}" for result in warnings]
    lines.append(f"All results: SELECT * FROM {SCHEMA}.validation_result WHERE run_id = {literal(run_id)}")
    return "\n".join(lines)


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
                (
                    run_id,
                    r.suite,
                    r.table,
                    r.check.name,
                    r.check.expectation_type,
                    r.check.column,
                    r.check.description,
                    r.success,
                    r.critical,
                    r.element_count,
                    Jsonb(r.observed_value) if r.observed_value is not None else None,
                    r.unexpected_count,
                    Jsonb(list(r.unexpected_sample)) if r.unexpected_sample else None,
                )
                for r in results
            ],
        )
