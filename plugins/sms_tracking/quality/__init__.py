"""Data-quality checks of the build: Great Expectations suites declared as data, and the runner.

A suite is a table (or a query under ``include/sql/quality``), the rows of it a run touched, and a list
of checks; each check is one GX expectation whose severity comes from ``include/config/quality.yaml``.
The runner validates what the run wrote, stores one row per check in ``sms_tracking.validation_result``,
builds Data Docs and raises :class:`ValidationFailed` when a critical check fails. GX costs seconds to
import, so it is imported inside :func:`validate_run` only (docs/quality.md).

One module per part: :mod:`.suites` (the checks, as data), :mod:`.config` (quality.yaml), :mod:`.rows`
(the scope and SQL of each suite), :mod:`.gx` (the GX run), :mod:`.results`, :mod:`.docs` (Data Docs),
:mod:`.runner` and :mod:`.retention`. The names below are the package's interface.
"""

from __future__ import annotations

from sms_tracking.quality.config import (
    SEVERITIES,
    QualityConfig,
    Severity,
    load_config,
    parse_config,
    runtime_params,
)
from sms_tracking.quality.docs import data_docs_dir
from sms_tracking.quality.gx import sqlalchemy_url, start_gx_import, with_session_settings
from sms_tracking.quality.results import (
    CheckResult,
    ValidationFailed,
    failure_message,
    gx_error,
    passed_empty,
    result_from_gx,
    skipped,
)
from sms_tracking.quality.retention import purge_results
from sms_tracking.quality.rows import claim_objects, literal, mark_duplicates, render_sql, sql_values
from sms_tracking.quality.runner import validate_run
from sms_tracking.quality.suites import (
    E164,
    SCHEMA,
    SUITES,
    Check,
    Param,
    Suite,
    check_ids,
    e164,
    in_set,
    key,
    not_in_future,
    not_null,
    resolve_kwargs,
)

__all__ = [
    "E164",
    "SCHEMA",
    "SEVERITIES",
    "SUITES",
    "Check",
    "CheckResult",
    "Param",
    "QualityConfig",
    "Severity",
    "Suite",
    "ValidationFailed",
    "check_ids",
    "claim_objects",
    "data_docs_dir",
    "e164",
    "failure_message",
    "gx_error",
    "in_set",
    "key",
    "literal",
    "load_config",
    "mark_duplicates",
    "not_in_future",
    "not_null",
    "parse_config",
    "passed_empty",
    "purge_results",
    "render_sql",
    "resolve_kwargs",
    "result_from_gx",
    "runtime_params",
    "skipped",
    "sql_values",
    "sqlalchemy_url",
    "start_gx_import",
    "validate_run",
    "with_session_settings",
]
