"""The work of each DAG task, as plain functions: DAG files only wire them.

Tasks hand data to each other through Postgres (the loaded tables and the build queues) and pass
only object URIs and small counts through XCom, so they run the same on any executor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from sms_tracking import db
from sms_tracking.audit import RunInfo
from sms_tracking.config import CONTRACT_KINDS, Source, load_sources
from sms_tracking.errors import SourcesError
from sms_tracking.ingest import LoadResult, landing_path, list_objects, load_object
from sms_tracking.qualification import DELIVERY_STATUSES, FAILURE_TYPES, refused_as_value_error
from sms_tracking.reports import FORMATS
from sms_tracking.reports.base import ParseContext
from sms_tracking.settings import get_settings

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
    """The source of that name, read at task time: a broken sources file, or one without it, is a
    permanent failure (a retry reads the same file). A bad setting met on the way is a
    :class:`SettingsError`, not a ValueError, so it is reported as what it is."""
    import yaml

    try:
        sources = load_sources()
    except (ValueError, yaml.YAMLError) as exc:
        raise SourcesError(f"the sources file is unusable: {exc}") from exc
    for source in sources:
        if source.name == name:
            return source
    raise SourcesError(f"no source named {name!r} in the sources file")


def pending_objects(source_name: str, dsn: str | None = None) -> list[str]:
    """URIs of the source's objects whose current content has not been loaded yet (at most the per-run cap)."""
    settings = get_settings()
    landing = settings.landing_url
    if source_name == CAMPAIGN_SOURCE:
        uris = [uri for kind in CONTRACT_KINDS for uri in list_objects(landing_path(landing, kind))]
    else:
        source = source_by_name(source_name)
        folder = landing_path(source.path) if "://" in source.path else landing_path(landing, source.path)
        uris = list_objects(folder)
    from sms_tracking.ingest import checksum, modified_time

    with closing(db.connect(dsn)) as conn:
        rows = conn.execute(
            "SELECT uri, checksum, size_bytes, modified_at FROM sms_tracking.source_object "
            "WHERE source = %s AND status <> 'rejected'",
            (source_name,),
        ).fetchall()
    loaded = {(uri, digest) for uri, digest, _, _ in rows}
    unchanged = {(uri, size, modified) for uri, _, size, modified in rows if modified is not None}

    def is_new(uri: str) -> bool:
        # Same size and modification time as a loaded version: not read again (rsync's quick check).
        path = landing_path(uri)
        info = path.stat()
        if (uri, info.get("size"), modified_time(path, info)) in unchanged:
            return False
        return (uri, checksum(path)[0]) not in loaded

    pending = [uri for uri in uris if is_new(uri)]
    if len(pending) > settings.max_objects_per_run:
        log.warning("%d objects pending; loading the first %d this run", len(pending), settings.max_objects_per_run)
        pending = pending[: settings.max_objects_per_run]
    log.info("Source %s: %d objects found, %d to load", source_name, len(uris), len(pending))
    return pending


def load(source_name: str, uri: str, run: RunInfo | None = None, dsn: str | None = None) -> dict[str, Any]:
    """Load one object of a source; raises BatchRejected when its reject rate passes the threshold."""
    from sms_tracking import contract

    settings = get_settings()
    options = {"default_region": settings.default_region or ""}
    path = landing_path(uri)
    if source_name == CAMPAIGN_SOURCE:
        kind = _contract_kind(uri, settings.landing_url)
        parser = contract.PARSERS[kind]
        ctx = ParseContext(source=source_name, provider="*", options=options)
        send_log = False
    else:
        source = source_by_name(source_name)
        kind = "reports"
        parser = FORMATS[source.format].adapter()
        ctx = ParseContext(
            source=source.name,
            provider=source.provider,
            tz=source.zone,
            options={**options, **source.options},
            delivery_field=source.send_log_field,
        )
        send_log = source.send_log
    with closing(db.connect(dsn)) as conn:
        result: LoadResult = load_object(
            conn,
            source=source_name,
            kind=kind,
            path=path,
            parser=parser,
            ctx=ctx,
            max_reject_rate=settings.max_reject_rate,
            run=run or RunInfo(),
            send_log=send_log,
        )
    return result.to_dict()


def _contract_kind(uri: str, landing: str) -> str:
    root = str(landing_path(landing))
    relative = uri[len(root) :].lstrip("/") if uri.startswith(root) else uri
    kind = relative.split("/", 1)[0]
    if kind not in CONTRACT_KINDS:
        raise ValueError(f"{uri} is not under one of the landing folders {', '.join(CONTRACT_KINDS)}")
    return kind


BUILD_STEPS = ("prepare", "qualify", "delivery_log", "quarantine", "tracking", "audit", "summary")
"""The build, in order: target lists are prepared with the quarantine as it stands before new reports
change it; quarantine applies the delivery log's new outcomes before the summary counts them; tracking
takes the deliveries to rebuild (the set audit and summary then share) and rebuilds their clicks."""


def build_step(
    step: str, run_id: str | None = None, dsn: str | None = None, dag_id: str | None = None
) -> dict[str, int]:
    """Run one build step (``include/sql/build/<step>.sql``) in one transaction; returns table counts."""
    from sms_tracking.audit import current_run
    from sms_tracking.exclusions import control_group_params, export_send_lists
    from sms_tracking.quarantine import QuarantineConfig
    from sms_tracking.tracking import build_params

    if step not in BUILD_STEPS:
        raise ValueError(f"unknown build step {step!r}; expected one of {BUILD_STEPS}")
    settings = get_settings()
    params = {
        "unknown_type": settings.unknown_failure_type,
        "unknown_reason": settings.unknown_failure_reason,
        "clock_skew_seconds": settings.clock_skew.total_seconds(),
        "run_id": run_id,
        "dag_id": dag_id or current_run().dag_id,
        "task_id": step,
        **QuarantineConfig.from_settings(settings).sql_params(),
        **control_group_params(settings),
        **build_params(settings),
        **_calling_codes(),
    }
    with closing(db.connect(dsn)) as conn:
        db.vacuum_analyze_stale(conn)
        with conn.transaction():
            rows = db.run_sql_file(conn, f"build/{step}.sql", params)
        exported = export_send_lists(conn, settings.landing_url) if step == "prepare" else []
        counts = dict(
            conn.execute(
                """SELECT 'pending_messages', count(*) FROM sms_tracking.pending_message
                   UNION ALL SELECT 'pending_deliveries', count(*) FROM sms_tracking.pending_delivery"""
            ).fetchall()
        )
    log.info("Build step %s: %d rows written; queues now %s", step, rows, counts)
    return {"rows": rows, **counts, **({"send_lists_exported": len(exported)} if step == "prepare" else {})}


def _calling_codes() -> dict[str, list[str]]:
    """E.164 calling codes and their main country (phonenumbers' metadata), for the daily breakdown by country."""
    import phonenumbers

    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items())
    return {"calling_codes": [str(code) for code, _ in codes], "calling_regions": [regions[0] for _, regions in codes]}


_Code = Annotated[str, BeforeValidator(lambda v: "" if v is None else str(v).strip()), Field(min_length=1)]
_Optional = Annotated[str | None, BeforeValidator(lambda v: str(v).strip() or None if v is not None else None)]


def _one_of(allowed: tuple[str, ...]) -> Callable[[str | None], str | None]:
    def check(value: str | None) -> str | None:
        if value is not None and value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    return check


class Override(BaseModel):
    """One qualification row a user sets (docs/qualification.md), checked like the seed."""

    model_config = ConfigDict(extra="forbid")

    provider: _Code
    raw_status: _Code
    error_code: _Code
    outcome: Annotated[_Code, AfterValidator(_one_of(DELIVERY_STATUSES))]
    failure_type: Annotated[_Optional, AfterValidator(_one_of(FAILURE_TYPES))] = None
    failure_reason: _Optional = None
    description: _Optional = None

    @model_validator(mode="after")
    def _failure_only_when_failed(self) -> Override:
        if (self.outcome == "failed") != bool(self.failure_type and self.failure_reason):
            raise ValueError("a failed outcome needs failure_type and failure_reason, other outcomes neither")
        return self


class OverridesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overrides: Annotated[list[Override], BeforeValidator(lambda v: v or [])] = []


def read_overrides(path: Path) -> list[tuple[Any, ...]]:
    """Rows of the overrides file, checked like the seed; a mistake names the file, the entry and the field."""
    from sms_tracking.reports.base import normalise_error_code
    from sms_tracking.yaml_files import read_yaml

    return [
        (
            o.provider.lower(),
            o.raw_status,
            "*" if o.error_code == "*" else normalise_error_code(o.error_code),
            o.outcome,
            o.outcome != "pending",
            o.failure_type,
            o.failure_reason,
            o.description or f"user override from {path.name}",
        )
        for o in read_yaml(path, OverridesFile, {"overrides": "override"}).overrides
    ]


def apply_qualification_overrides(path: Path | None = None, dsn: str | None = None) -> int:
    """Write the rows of the overrides file into the qualification table (origin ``user``); returns rows changed.

    The file is the ``qualification_overrides`` option or ``include/config/qualification_overrides.yaml``.
    """
    path = path or get_settings().config_file("qualification_overrides")
    rows = read_overrides(path)
    with closing(db.connect(dsn)) as conn, conn.transaction():
        conn.execute(
            "CREATE TEMP TABLE stage_override ON COMMIT DROP AS SELECT provider, raw_status, error_code, outcome,"
            " is_final, failure_type, failure_reason, description FROM sms_tracking.qualification WITH NO DATA"
        )
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY stage_override (provider, raw_status, error_code, outcome, is_final, failure_type,"
                " failure_reason, description) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        changed = refused_as_value_error(path, lambda: db.run_sql_file(conn, "requalify/overrides.sql"))
    log.info("Qualification overrides %s: %d rows read, %d changed", path, len(rows), changed)
    return changed


def requalify(
    provider: str | None = None,
    raw_status: str | None = None,
    error_code: str | None = None,
    run: RunInfo | None = None,
    dsn: str | None = None,
) -> dict[str, int]:
    """Re-queue the messages whose delivery-log qualification differs from the table's now.

    The build steps that follow rebuild their delivery log, replay their numbers' quarantine and
    recompute their deliveries' summaries; :func:`requalify_report` then journals before and after.
    """
    from sms_tracking.reports.base import normalise_error_code

    params = {
        "provider": (provider or "").strip().lower() or None,
        "raw_status": (raw_status or "").strip() or None,
        "error_code": (normalise_error_code(error_code) if error_code else None),
        "run_id": (run or RunInfo()).run_id or "manual",
    }
    with closing(db.connect(dsn)) as conn, conn.transaction():
        requeued = db.run_sql_file(conn, "requalify/requeue.sql", params)
    log.info("Re-qualification %s (filter %s): %d messages re-queued", params["run_id"], params, requeued)
    return {"requeued": requeued}


def requalify_report(run: RunInfo | None = None, dsn: str | None = None) -> dict[str, int]:
    """Journal what a re-qualification changed (before/after counts) in the audit table."""
    run = run or RunInfo()
    params = {"dag_id": run.dag_id, "run_id": run.run_id or "manual", "task_id": run.task_id}
    with closing(db.connect(dsn)) as conn, conn.transaction():
        events = db.run_sql_file(conn, "requalify/report.sql", params)
    log.info("Re-qualification %s: %d audit events written", params["run_id"], events)
    return {"audit_events": events}
