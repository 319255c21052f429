"""The validation of one build run: scope, rows, GX, results; raises when a critical check fails."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

from sms_tracking import db
from sms_tracking.quality.config import QualityConfig, load_config, runtime_params
from sms_tracking.quality.docs import data_docs_dir
from sms_tracking.quality.gx import run_gx, sqlalchemy_url, start_gx_import, with_session_settings
from sms_tracking.quality.results import CheckResult, ValidationFailed, passed_empty, skipped, write_results
from sms_tracking.quality.rows import (
    claim_objects,
    drop_stale_work_tables,
    drop_work_tables,
    existing_tables,
    materialise,
    render_sql,
    sql_values,
    work_table,
)
from sms_tracking.quality.suites import SCHEMA, SUITES, Suite, check_ids

log = logging.getLogger(__name__)


def validate_run(
    run_id: str,
    dsn: str | None = None,
    config: QualityConfig | None = None,
    docs: bool = True,
    suites: Sequence[Suite] | None = None,
) -> dict[str, Any]:
    """Validate what run ``run_id`` wrote, store the results, build Data Docs; raise on critical failures.

    Returns a summary small enough for an XCom.
    """
    started = time.monotonic()
    # Import GX while the task reads its settings and Postgres computes the suites' rows: it takes 3-4 s of
    # CPU, more than a 100k validation's own work, and a suite with rows (there always is one) needs it.
    importer = start_gx_import()
    from sms_tracking.config import load_sources
    from sms_tracking.settings import get_settings

    suites = SUITES if suites is None else suites
    config = config or load_config(suites=suites)
    now = datetime.now(UTC)
    severity_of = {check_id: config.severity(check_id) for check_id in check_ids(suites)}
    values = sql_values(config, (source.name for source in load_sources()))

    results: list[CheckResult] = []
    tables: dict[str, str] = {}
    docs_dir = data_docs_dir() if docs else None
    with closing(db.connect(dsn)) as conn:
        db.vacuum_analyze_stale(conn)
        try:
            with conn.transaction():
                existing = existing_tables(conn, {t for suite in suites for t in (suite.table, *suite.requires)})
                vocabulary = (
                    [row[0] for row in conn.execute(f"SELECT reason FROM {SCHEMA}.failure_reason ORDER BY reason")]
                    if "failure_reason" in existing_tables(conn, {"failure_reason"})
                    else []
                )
                params = runtime_params(config, now, get_settings().unknown_failure_reason, vocabulary)
                objects = claim_objects(conn, run_id)
                deliveries = conn.execute(
                    f"SELECT count(*) FROM {SCHEMA}.delivery_summary WHERE refreshed_by_run = %s", (run_id,)
                ).fetchone()[0]  # type: ignore[index]
                drop_stale_work_tables(conn, now)
            for suite in suites:
                if all(severity_of[f"{suite.name}.{c.name}"] == "disabled" for c in suite.checks):
                    continue
                missing = [t for t in (suite.table, *suite.requires) if t not in existing]
                if missing:
                    results += skipped(suite, severity_of, missing)
                    continue
                unique = [
                    c for c in suite.checks if c.unique_columns and severity_of[f"{suite.name}.{c.name}"] != "disabled"
                ]
                table = work_table(suite, run_id, now)
                query = render_sql(suite.sql(), run_id, now, values)
                if materialise(conn, table, query, unique, suite.source(), suite.copy):
                    tables[suite.name] = table
                else:
                    results += passed_empty(suite, severity_of)
            runnable = [suite for suite in suites if suite.name in tables]
            if runnable:  # else nothing GX must validate
                importer.join()
                url = with_session_settings(sqlalchemy_url(db.sqlalchemy_uri(dsn)))
                results += run_gx(url, runnable, tables, severity_of, params, run_id, now, config.sample_size, docs_dir)
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
        run_id,
        objects,
        deliveries,
        summary["checks"],
        summary["passed"],
        len(failures),
        len(warnings),
        summary["skipped"] or "none",
        summary["seconds"],
    )
    if failures:
        raise ValidationFailed(run_id, failures, warnings)
    return summary
