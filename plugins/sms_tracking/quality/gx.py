"""Great Expectations: its connection, its import (seconds long, so in the background from the start of the
validation) and the validation of each suite's scratch table."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sms_tracking import db
from sms_tracking.quality.config import Severity
from sms_tracking.quality.docs import DOCS_SITE, publish_data_docs
from sms_tracking.quality.results import CheckResult, gx_error, result_from_gx
from sms_tracking.quality.rows import WORK_SCHEMA
from sms_tracking.quality.suites import Check, Suite, resolve_kwargs

log = logging.getLogger(__name__)


def sqlalchemy_url(dsn: str) -> str:
    """The DSN (URI or ``key=value``) as the SQLAlchemy URL GX needs, on psycopg 3's dialect."""
    for scheme in ("postgresql://", "postgres://"):
        if dsn.startswith(scheme):
            return "postgresql+psycopg://" + dsn[len(scheme) :]
    if dsn.startswith("postgresql+"):
        return dsn
    from psycopg.conninfo import conninfo_to_dict
    from sqlalchemy.engine import URL

    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    port = params.pop("port", None)
    url = URL.create(
        "postgresql+psycopg",
        username=params.pop("user", None),
        password=params.pop("password", None),
        host=params.pop("host", None),
        port=int(port) if port else None,
        database=params.pop("dbname", None),
        query=params,
    )
    return url.render_as_string(hide_password=False)


def with_session_settings(url: str) -> str:
    """GX's own connections get the settings ``db.connect`` gives ours (``db.session_settings``): its
    uniqueness checks group whole tables, which spill to disk with the server's 4 MB ``work_mem``."""
    return _with_options(url, db.session_settings())


def _with_options(url: str, settings: Mapping[str, object]) -> str:
    """The URL with these server settings added to its ``options`` (``-c name=value``)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    added = " ".join(f"-c {name}={value}" for name, value in settings.items())
    options = " ".join(filter(None, [parsed.query.get("options"), added]))  # type: ignore[list-item]
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def _quiet_gx() -> None:
    """Before GX is imported: no usage statistics, and only its warnings in the task log."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def start_gx_import() -> threading.Thread:
    """Import GX in a thread and return it (join it before using GX).

    The import takes 3-4 s of this process's CPU (scipy, pydantic models); the suites' rows take the
    server's, and this process only waits for them, so the two overlap. A failed import is not lost: the
    import in :func:`run_gx` runs it again and raises.
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


def run_gx(
    url: str,
    suites: Sequence[Suite],
    tables: Mapping[str, str],
    severity_of: Mapping[str, Severity],
    params: Mapping[str, Any],
    run_id: str,
    now: datetime,
    sample_size: int,
    docs_dir: Path | None,
) -> list[CheckResult]:
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
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            data_docs_sites={
                DOCS_SITE: {
                    "class_name": "SiteBuilder",
                    "show_how_to_buttons": False,
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(building)},
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                    "site_section_builders": {"profiling": "None"},
                }
            }
            if building
            else {},
        ),
    )
    # The work tables are read unqualified, from the connection's search_path: GX 1.14 deprecates an
    # asset's own schema_name for the datasource's connection configuration.
    source = context.data_sources.add_postgres(
        "sms_tracking", connection_string=_with_options(url, {"search_path": WORK_SCHEMA})
    )

    def expectation(check: Check) -> Any:
        if check.unique_columns:  # duplicates counted by mark_duplicates
            return gxe.ExpectColumnValuesToBeNull(column=check.marker, meta={"check": check.name})
        return getattr(gxe, check.expectation)(**resolve_kwargs(check.kwargs, params), meta={"check": check.name})

    results: list[CheckResult] = []
    for suite in suites:
        checks = {c.name: c for c in suite.checks if severity_of[f"{suite.name}.{c.name}"] != "disabled"}
        asset = source.add_table_asset(suite.name, table_name=tables[suite.name])
        batch_definition = asset.add_batch_definition_whole_table("rows")
        gx_suite = context.suites.add(
            gx.ExpectationSuite(name=suite.name, expectations=[expectation(c) for c in checks.values()])
        )
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=gx_suite)
        )
        # No sample values in this pass (LIMIT 0): fetching them scanned each table once more per check,
        # even when it passed. The failed checks' samples come from the second pass below.
        validation = definition.run(
            result_format={"result_format": "BASIC", "partial_unexpected_count": 0},
            run_id=RunIdentifier(run_name=run_id, run_time=now),
        )
        outcome = {item.expectation_config.meta["check"]: item for item in validation.results}
        failed = [name for name, item in outcome.items() if not item.success and not gx_error(item.exception_info)]
        if failed:
            samples = gx.ExpectationSuite(
                name=f"{suite.name}_samples", expectations=[expectation(checks[name]) for name in failed]
            )
            detailed = batch_definition.get_batch().validate(
                samples,
                result_format={
                    "result_format": "SUMMARY",
                    "unexpected_index_column_names": list(
                        dict.fromkeys((*suite.keys, *(c for n in failed for c in checks[n].unique_columns or ())))
                    ),
                    "partial_unexpected_count": sample_size,
                },
            )
            outcome.update({item.expectation_config.meta["check"]: item for item in detailed.results})
        results += [
            result_from_gx(
                suite,
                checks[name],
                severity_of[f"{suite.name}.{name}"],
                bool(item.success),
                item.result or {},
                gx_error(item.exception_info),
                sample_size,
            )
            for name, item in outcome.items()
        ]
    validated = time.monotonic()
    if docs_dir is not None and building is not None:
        try:
            publish_data_docs(context, building, docs_dir)
        except OSError as exc:  # the results matter more than their pages: keep them
            log.warning("Data Docs not built in %s: %s", docs_dir, exc)
    log.info(
        "GX: import %.1fs, %d suites validated in %.1fs, Data Docs in %.1fs",
        imported - started,
        len(suites),
        validated - imported,
        time.monotonic() - validated,
    )
    return results
