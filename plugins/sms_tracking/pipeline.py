"""The work of each DAG task, as plain functions: DAG files only wire them.

Tasks hand data to each other through Postgres (the loaded tables and the build queues) and pass
only object URIs and small counts through XCom, so they run the same on any executor.
"""

from __future__ import annotations

import logging
from contextlib import closing
from typing import Any

from sms_tracking import db
from sms_tracking.config import CONTRACT_KINDS, Settings, Source, load_sources
from sms_tracking.ingest import LoadResult, RunInfo, landing_path, list_objects, load_object
from sms_tracking.reports import FORMATS
from sms_tracking.reports.base import ParseContext

log = logging.getLogger(__name__)

CAMPAIGN_SOURCE = "campaign"
"""The source name of the sending system's files (deliveries, targets, sends, clicks, inbound)."""


def prepare_database(dsn: str | None = None) -> dict[str, Any]:
    """Apply migrations and sync the qualification seed; safe to run on every DAG run."""
    from sms_tracking.qualification import sync_seed

    with closing(db.connect(dsn)) as conn:
        applied = db.migrate(conn)
        seeded = sync_seed(conn)
    return {"migrations_applied": applied, "seed_rows_written": seeded}


def source_by_name(name: str) -> Source:
    for source in load_sources():
        if source.name == name:
            return source
    raise KeyError(f"no source named {name!r} in the sources file")


def pending_objects(source_name: str, dsn: str | None = None) -> list[str]:
    """URIs of the source's objects whose current content has not been loaded yet (at most the per-run cap)."""
    settings = Settings.from_env()
    if source_name == CAMPAIGN_SOURCE:
        uris = [uri for kind in CONTRACT_KINDS for uri in list_objects(landing_path(settings.landing, kind))]
    else:
        source = source_by_name(source_name)
        folder = landing_path(source.path) if "://" in source.path else landing_path(settings.landing, source.path)
        uris = list_objects(folder)
    from sms_tracking.ingest import checksum

    with closing(db.connect(dsn)) as conn:
        loaded = {
            (uri, digest)
            for uri, digest in conn.execute(
                "SELECT uri, checksum FROM sms_tracking.source_object WHERE source = %s AND status <> 'rejected'",
                (source_name,),
            ).fetchall()
        }
    pending = [uri for uri in uris if (uri, checksum(landing_path(uri))[0]) not in loaded]
    if len(pending) > settings.max_objects_per_run:
        log.warning("%d objects pending; loading the first %d this run", len(pending), settings.max_objects_per_run)
        pending = pending[: settings.max_objects_per_run]
    log.info("Source %s: %d objects found, %d to load", source_name, len(uris), len(pending))
    return pending


def load(source_name: str, uri: str, run: RunInfo = RunInfo(), dsn: str | None = None) -> dict[str, Any]:
    """Load one object of a source; raises BatchRejected when its reject rate passes the threshold."""
    from sms_tracking import contract

    settings = Settings.from_env()
    options = {"default_region": settings.default_region or ""}
    path = landing_path(uri)
    if source_name == CAMPAIGN_SOURCE:
        kind = _contract_kind(uri, settings)
        parser = contract.PARSERS[kind]
        ctx = ParseContext(source=source_name, provider="*", options=options)
    else:
        source = source_by_name(source_name)
        kind = "reports"
        parser = FORMATS[source.format].adapter()
        ctx = ParseContext(source=source.name, provider=source.provider, tz=source.zone,
                           options={**options, **source.options})
    with closing(db.connect(dsn)) as conn:
        result: LoadResult = load_object(
            conn, source=source_name, kind=kind, path=path, parser=parser, ctx=ctx,
            max_reject_rate=settings.max_reject_rate, run=run,
        )
    return result.to_dict()


def _contract_kind(uri: str, settings: Settings) -> str:
    root = str(landing_path(settings.landing))
    relative = uri[len(root):].lstrip("/") if uri.startswith(root) else uri
    kind = relative.split("/", 1)[0]
    if kind not in CONTRACT_KINDS:
        raise ValueError(f"{uri} is not under one of the landing folders {', '.join(CONTRACT_KINDS)}")
    return kind


BUILD_STEPS = ("qualify", "delivery_log", "summary")


def build_step(step: str, run_id: str | None = None, dsn: str | None = None) -> dict[str, int]:
    """Run one build step (``include/sql/build/<step>.sql``) in one transaction; returns table counts."""
    if step not in BUILD_STEPS:
        raise ValueError(f"unknown build step {step!r}; expected one of {BUILD_STEPS}")
    settings = Settings.from_env()
    params = {
        "unknown_type": settings.unknown_failure_type,
        "unknown_reason": settings.unknown_failure_reason,
        "run_id": run_id,
    }
    with closing(db.connect(dsn)) as conn:
        with conn.transaction():
            rows = db.run_sql_file(conn, f"build/{step}.sql", params)
        counts = dict(
            conn.execute(
                """SELECT 'pending_messages', count(*) FROM sms_tracking.pending_message
                   UNION ALL SELECT 'pending_deliveries', count(*) FROM sms_tracking.pending_delivery"""
            ).fetchall()
        )
    log.info("Build step %s: %d rows written; queues now %s", step, rows, counts)
    return {"rows": rows, **counts}
