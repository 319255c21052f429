"""The data of every page, read from Postgres with the files in ``include/sql/ui``.

Each function takes an open :class:`Reader` and the :class:`~sms_tracking.ui.auth.Viewer`, returns
response models, and masks phone numbers for viewers who may not see them. Tables that later
migrations add (exclusion, quarantine, audit journal, validation results) are looked up with
``to_regclass`` on every call, so a page shows an empty state until they exist and works right after.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from psycopg import Connection, sql
from psycopg.rows import dict_row

from sms_tracking import db
from sms_tracking.config import Settings
from sms_tracking.ui import bots, datamodels as m, params
from sms_tracking.ui.auth import Viewer
from sms_tracking.ui.masking import mask_phone, mask_text
from sms_tracking.ui.settings import BUILD_DAG_ID, UiSettings

WORK_MEM = "64MB"
"""Per-connection sort/hash memory of the UI's sessions: the breakdown of a delivery with millions of
messages then aggregates in memory instead of sorting on disk."""
COUNT_CAP = 10_000
"""Large filtered lists are counted up to here ("10,000+"), so a page never counts millions of rows."""

_MIGRATE = "the next DAG run applies it (sms_tracking.pipeline.prepare_database), and this view fills in then."
OPTIONAL_TABLES: dict[str, str] = {
    "exclusion": "No exclusion data yet: the exclusion table (sms_tracking.exclusion) is created by migration "
    f"0003_quarantine in include/sql/migrations; {_MIGRATE}",
    "quarantine": "No quarantine data yet: the quarantine table (sms_tracking.quarantine) is created by migration "
    f"0003_quarantine in include/sql/migrations; {_MIGRATE}",
    "quarantine_history": "No quarantine history yet: the table sms_tracking.quarantine_history is created by "
    f"migration 0003_quarantine in include/sql/migrations; {_MIGRATE}",
    "audit_event": "No delivery journal yet: the table sms_tracking.audit_event is created by migration "
    f"0003_quarantine in include/sql/migrations; {_MIGRATE} The pipeline audit below is available now.",
    "validation_result": "No validation results yet: the table sms_tracking.validation_result is created by "
    f"migration 0002_quality in include/sql/migrations and filled by the build's validation; {_MIGRATE}",
}
LATENCY_BUCKETS = ("< 10 s", "10-30 s", "30 s-1 min", "1-5 min", "5-15 min", "15 min-1 h", "1-6 h", "≥ 6 h")


class NotFound(LookupError):
    """The thing asked for does not exist (rendered as 404)."""


class Conflict(RuntimeError):
    """The action cannot run in the current state (rendered as 409)."""


class Invalid(ValueError):
    """A value the request gave is not acceptable (rendered as 422)."""


@cache
def _sql_file(name: str) -> str:
    return db.sql_text(f"ui/{name}.sql")


def statement(name: str, **fragments: str) -> sql.Composable:
    """The SQL of ``include/sql/ui/<name>.sql``, its ``{placeholders}`` filled with trusted SQL only."""
    text = _sql_file(name)
    if not fragments:
        return sql.SQL(text)  # type: ignore[arg-type]
    return sql.SQL(text).format(**{key: sql.SQL(value) for key, value in fragments.items()})  # type: ignore[arg-type]


@dataclass
class Reader:
    """One connection for one request, with the helpers the page functions share."""

    conn: Connection[Any]

    def rows(self, name: str, args: dict[str, Any] | None = None, **fragments: str) -> list[dict[str, Any]]:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(statement(name, **fragments), args or {})
            return cur.fetchall()

    def row(self, name: str, args: dict[str, Any] | None = None, **fragments: str) -> dict[str, Any] | None:
        found = self.rows(name, args, **fragments)
        return found[0] if found else None

    def present(self, *tables: str) -> set[str]:
        return {r["name"] for r in self.rows("tables_present", {"names": list(tables)})}


@contextmanager
def open_reader(write: bool = False) -> Iterator[Reader]:
    """A connection per request (``sms_tracking.db.connect``): read-only unless asked, with a statement timeout."""
    settings = UiSettings.from_env()
    with closing(db.connect()) as conn:
        conn.read_only = not write
        conn.execute(
            "SELECT set_config('statement_timeout', %s, false), set_config('TimeZone', 'UTC', false),"
            " set_config('work_mem', %s, false)",
            (str(settings.statement_timeout_ms), WORK_MEM),
        )
        yield Reader(conn)
        conn.commit()


def preferring_summary(
    reader: Reader, summary_table: str, summary_sql: str, fallback_sql: str, args: dict[str, Any]
) -> list[dict[str, Any]]:
    """Rows of the build's pre-aggregated ``summary_table`` when it exists and has rows for the delivery,
    else the same figures aggregated from the detail table (before the build has summarised it)."""
    if summary_table in reader.present(summary_table):
        found = reader.rows(summary_sql, args)
        if found:
            return found
    return reader.rows(fallback_sql, args)


def _phone(viewer: Viewer, phone: str | None) -> str | None:
    return mask_phone(phone) if viewer.mask_phones else phone


def _text(viewer: Viewer, text: str | None) -> str | None:
    return mask_text(text) if viewer.mask_phones else text


def phone_args(viewer: Viewer, phone: str | None) -> dict[str, Any]:
    """Exact match, plus prefix match for viewers who see numbers (a prefix search would unmask them)."""
    prefix = params.like_prefix(phone) if phone and not viewer.mask_phones else None
    return {"phone": phone, "phone_like": prefix}


def _rate(part: int | None, whole: int | None) -> float | None:
    return round(part / whole, 4) if part is not None and whole else None


def _unit(first: datetime | None, last: datetime | None) -> str:
    return "hour" if first is None or last is None or last - first <= timedelta(days=3) else "day"


# --- Deliveries ---------------------------------------------------------------------------------------------


def deliveries(reader: Reader, filters: params.DeliveryFilters, paging: params.Paging) -> m.Page[m.DeliveryRow]:
    args = {**filters.sql_params(), "limit": paging.limit, "offset": paging.offset, "cap": COUNT_CAP + 1}
    order = params.order_by(params.DELIVERY_SORTS, filters.sort, filters.direction, "delivery_id", nulls_last=True)
    where = _sql_file("deliveries_filters")
    found: list[dict[str, Any]] | None = None
    if filters.sort == "success_rate":
        # Deliveries with a rate first, from the rate's index; no nulls there, so the default null
        # placement (one index, both directions) gives the same order. A short page reaches the
        # deliveries without a rate: the general query reads it. (JIT, which compiled this statement on
        # every call for longer than it runs, is off in every session: db.session_settings.)
        rated = params.order_by(params.DELIVERY_SORTS, filters.sort, filters.direction, "delivery_id")
        found = reader.rows("deliveries_by_success_rate", args, filters=where, order_by=rated)
        if len(found) < paging.limit:
            found = None
    if found is None:
        found = reader.rows("deliveries", args, filters=where, order_by=order)
    total = (reader.row("deliveries_count", args, filters=where) or {"total": 0})["total"]
    clicks = {
        r["delivery_id"]: r
        for r in reader.rows(
            "clicks_per_delivery", {**bots.human_params(), "delivery_ids": [r["delivery_id"] for r in found]}
        )
    } if found else {}
    items = [
        m.DeliveryRow(
            **{k: r[k] for k in ("delivery_id", "name", "sender", "provider", "created_at", "scheduled_at",
                                 "is_proof", "state", "success", "delivered", "pending", "refreshed_at")},
            to_deliver=r["sent"],
            errors=r["failed"],
            success_rate=float(r["success_rate"]) if r["success_rate"] is not None else None,
            clicks=clicks.get(r["delivery_id"], {}).get("clicks", 0),
            human_clicks=clicks.get(r["delivery_id"], {}).get("human_clicks", 0),
        )
        for r in found
    ]
    return m.Page[m.DeliveryRow](
        items=items, total_entries=min(total, COUNT_CAP), total_is_capped=total > COUNT_CAP,
        limit=paging.limit, offset=paging.offset,
    )


def delivery_choices(reader: Reader) -> m.DeliveryChoices:
    found = reader.rows("delivery_choices")
    return m.DeliveryChoices(
        providers=[r["value"] for r in found if r["field"] == "provider"],
        senders=[r["value"] for r in found if r["field"] == "sender"],
    )


def _delivery_row(reader: Reader, delivery_id: str) -> dict[str, Any]:
    row = reader.row("delivery", {"delivery_id": delivery_id})
    if row is None:
        raise NotFound(f"No delivery with id {delivery_id!r}")
    return row


def _delivery(row: dict[str, Any]) -> m.Delivery:
    return m.Delivery(**{k: row[k] for k in m.Delivery.model_fields})


def _kpis(row: dict[str, Any]) -> m.Kpis | None:
    if not row["has_summary"]:
        return None
    return m.Kpis(
        **{k: row[k] for k in m.Kpis.model_fields if k not in ("success_rate", "delivery_rate", "indicators")},
        indicators=row["summary_row"],
        success_rate=_rate(row["success"], row["sent"]),
        delivery_rate=_rate(row["delivered"], row["sent"]),
    )


def delivery_header(reader: Reader, delivery_id: str) -> tuple[m.Delivery, m.Kpis | None]:
    row = _delivery_row(reader, delivery_id)
    return _delivery(row), _kpis(row)


@dataclass(frozen=True)
class LogBreakdown:
    """What the Summary tab aggregates from the delivery log: failures, latency and the timeline."""

    failures: list[m.FailureCount]
    latency: list[m.LabelCount]
    timeline: list[m.TimePoint]
    unit: str


class BreakdownCache:
    """Log aggregates per delivery, keyed by the summary's refresh time.

    The delivery log of a delivery only changes in a build run, and every such run refreshes the
    delivery's summary row (``refreshed_at``): a key with that time can never be stale, and a large
    delivery's log is aggregated once per build instead of once per page view.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str, Any], LogBreakdown] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, Any], compute: Callable[[], LogBreakdown]) -> LogBreakdown:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


BREAKDOWNS = BreakdownCache()


def _log_breakdown(reader: Reader, row: dict[str, Any]) -> LogBreakdown:
    unit = _unit(row["first_submit_at"], row["last_report_at"])
    found = reader.rows("delivery_breakdown", {"delivery_id": row["delivery_id"], "unit": unit})
    latency = {r["latency"]: r["count"] for r in found if r["part"] == "latency"}
    timeline: dict[datetime, dict[str, int]] = {}
    for r in found:
        if r["part"] == "time":
            timeline.setdefault(r["bucket"], {"delivered": 0, "failed": 0, "pending": 0})[r["status"]] = r["count"]
    return LogBreakdown(
        failures=[
            m.FailureCount(failure_type=r["failure_type"], failure_reason=r["failure_reason"], count=r["count"])
            for r in found if r["part"] == "failure"
        ],
        latency=[m.LabelCount(label=label, count=latency.get(i, 0)) for i, label in enumerate(LATENCY_BUCKETS)]
        if latency else [],
        timeline=[m.TimePoint(bucket=bucket, values=values) for bucket, values in sorted(timeline.items())],
        unit=unit,
    )


def _failures(reader: Reader, row: dict[str, Any], log: LogBreakdown) -> list[m.FailureCount]:
    """The build's delivery_failure_summary when it has the delivery, else the log breakdown."""
    if "delivery_failure_summary" in reader.present("delivery_failure_summary"):
        found = reader.rows("failure_summary", {"delivery_id": row["delivery_id"]})
        if found:
            return [m.FailureCount(**r) for r in found]
    return log.failures


def delivery_summary(reader: Reader, delivery_id: str) -> m.DeliverySummary:
    row = _delivery_row(reader, delivery_id)
    kpis = _kpis(row)
    args = {"delivery_id": delivery_id}
    present = reader.present("exclusion")
    clicks = reader.row("clicks_per_delivery", {**bots.human_params(), "delivery_ids": [delivery_id]}) or {}
    causes = (preferring_summary(reader, "delivery_exclusion_summary", "exclusion_summary", "exclusion_causes", args)
              if "exclusion" in present else [])
    if row["refreshed_at"] is None:
        log = _log_breakdown(reader, row)
    else:
        key = (f"{reader.conn.info.host}:{reader.conn.info.port}/{reader.conn.info.dbname}", delivery_id,
               row["refreshed_at"])
        log = BREAKDOWNS.get(key, lambda: _log_breakdown(reader, row))
    breakdown = [("Delivered", "delivered"), ("Pending", "pending"), ("Failed", "failed")]
    return m.DeliverySummary(
        delivery=_delivery(row),
        kpis=kpis,
        targets=(reader.row("delivery_targets", args) or {}).get("targets", 0),
        excluded=sum(c["count"] for c in causes) if "exclusion" in present else None,
        clicks=clicks.get("clicks", 0),
        human_clicks=clicks.get("human_clicks", 0),
        refreshed_by_dag_id=BUILD_DAG_ID,
        status_breakdown=[m.LabelCount(label=label, count=row[key] or 0) for label, key in breakdown] if kpis else [],
        failures=_failures(reader, row, log),
        exclusions_by_cause=[m.LabelCount(label=c["reason"], count=c["count"]) for c in causes],
        latency=log.latency,
        reports_over_time=log.timeline,
        timeline_unit=log.unit,
    )


def sms_content(reader: Reader, delivery_id: str) -> m.SmsContent:
    from sms_tracking import segments
    from sms_tracking.tracking import extract_urls

    row = _delivery_row(reader, delivery_id)
    measured = segments.profile(row["content"])
    return m.SmsContent(
        delivery_id=row["delivery_id"],
        content=row["content"],
        sender=row["sender"],
        provider=row["provider"],
        encoding=measured.encoding,
        characters=measured.characters,
        units=measured.units,
        segments=measured.segments,
        segments_if_gsm7=measured.segments_if_gsm7,
        non_gsm7=measured.non_gsm7,
        single_limit=segments.SINGLE_LIMIT[measured.encoding],
        part_limit=segments.PART_LIMIT[measured.encoding],
        sent_segments=row["segments"],
        urls=[m.SmsUrl(position=u.position, url=u.url, label=u.label, is_opt_out=u.is_opt_out)
              for u in extract_urls(row["content"])],
    )


def delivery_log(
    reader: Reader, viewer: Viewer, delivery_id: str, filters: params.LogFilters, paging: params.Paging
) -> m.Page[m.LogRow]:
    _delivery_row(reader, delivery_id)
    args = {
        "delivery_id": delivery_id,
        "status": filters.status,
        "failure_type": filters.failure_type,
        "failure_reason": filters.failure_reason,
        **phone_args(viewer, filters.phone),
        "limit": paging.limit,
        "offset": paging.offset,
        "cap": COUNT_CAP + 1,
    }
    where = _sql_file("delivery_log_filters")
    order = params.order_by(params.LOG_SORTS, filters.sort, filters.direction, "l.provider, l.provider_message_id")
    found = reader.rows("delivery_log", args, filters=where, order_by=order)
    total = (reader.row("delivery_log_count", args, filters=where) or {"total": 0})["total"]
    items = [
        m.LogRow(
            **{k: r[k] for k in m.LogRow.model_fields if k not in ("phone", "raw_error")},
            phone=_phone(viewer, r["phone_e164"]),
            raw_error=_text(viewer, r["raw_error"]),
        )
        for r in found
    ]
    return m.Page[m.LogRow](
        items=items, total_entries=min(total, COUNT_CAP), total_is_capped=total > COUNT_CAP,
        limit=paging.limit, offset=paging.offset,
    )


def failure_reasons(reader: Reader) -> list[str]:
    args = {"unknown_reason": Settings.from_env().unknown_failure_reason}
    return [r["failure_reason"] for r in reader.rows("failure_reasons", args)]


def exclusions(
    reader: Reader, viewer: Viewer, delivery_id: str, reason: str | None, paging: params.Paging
) -> m.Exclusions:
    _delivery_row(reader, delivery_id)
    if "exclusion" not in reader.present("exclusion"):
        empty = m.Page[m.ExclusionRow](
            items=[], total_entries=0, limit=paging.limit, offset=paging.offset,
            available=False, notice=OPTIONAL_TABLES["exclusion"],
        )
        return m.Exclusions(causes=[], recipients=empty)
    args = {"delivery_id": delivery_id, "reason": reason, "limit": paging.limit, "offset": paging.offset}
    causes = [
        m.LabelCount(label=r["reason"], count=r["count"])
        for r in preferring_summary(reader, "delivery_exclusion_summary", "exclusion_summary", "exclusion_causes", args)
    ]
    found = reader.rows("exclusions", args)
    items = [
        m.ExclusionRow(
            recipient_id=r["recipient_id"], phone=_phone(viewer, r["phone_e164"]),
            phone_raw=_text(viewer, r["phone_raw"]), reason=r["reason"], prepared_at=r["prepared_at"],
            run_id=r["run_id"],
        )
        for r in found
    ]
    # The cause counts already say how many rows match: no count over a large exclusion list.
    total = sum(c.count for c in causes if reason is None or c.label == reason)
    page = m.Page[m.ExclusionRow](items=items, total_entries=total, limit=paging.limit, offset=paging.offset)
    return m.Exclusions(causes=causes, recipients=page)


def tracking(reader: Reader, delivery_id: str, paging: params.Paging) -> m.Tracking:
    from sms_tracking.tracking import extract_urls

    row = _delivery_row(reader, delivery_id)
    args = {**bots.human_params(), "delivery_id": delivery_id, "limit": paging.limit, "offset": paging.offset}
    in_content = {u.url for u in extract_urls(row["content"])}
    span = reader.row("tracking_span", args) or {}
    unit = _unit(span.get("first_at"), span.get("last_at"))
    wanted = {_url_key(url): url for url in in_content}
    found = preferring_summary(reader, "delivery_url_summary", "url_summary", "tracking_urls", args)
    urls = [
        m.TrackedUrl(**{k: r[k] for k in ("url", "total", "unique_recipients", "human_total", "human_unique")},
                     in_content=_url_key(r["url"]) in wanted)
        for r in found
    ]
    clicked = {_url_key(u.url) for u in urls}
    urls += [
        m.TrackedUrl(url=url, total=0, unique_recipients=0, human_total=0, human_unique=0, in_content=True)
        for key, url in sorted(wanted.items()) if key not in clicked
    ]
    built = "tracking_log" in reader.present("tracking_log") and bool(
        reader.rows("tracking_log_built", {**args, "limit": 1, "offset": 0})
    )
    log = reader.rows("tracking_log_built" if built else "tracking_log", args)
    timeline = reader.rows("tracking_timeline_built" if built else "tracking_timeline", {**args, "unit": unit})
    return m.Tracking(
        urls=urls,
        clicks_over_time=[
            m.TimePoint(bucket=r["bucket"], values={"clicks": r["clicks"], "human_clicks": r["human_clicks"]})
            for r in timeline
        ],
        timeline_unit=unit,
        log=m.Page[m.ClickRow](
            items=[m.ClickRow(**{k: r[k] for k in m.ClickRow.model_fields}) for r in log],
            total_entries=sum(u.total for u in urls),
            limit=paging.limit,
            offset=paging.offset,
        ),
        bot_user_agent_tokens=bots.bot_tokens(),
        flagged_by_build=built,
    )


def _url_key(url: str) -> str:
    """A URL as the SMS text and the click log may both write it (scheme, www. and final slash dropped)."""
    return url.lower().removeprefix("https://").removeprefix("http://").removeprefix("www.").rstrip("/")


def audit(
    reader: Reader, viewer: Viewer, delivery_id: str, level: str | None, paging: params.Paging
) -> m.Audit:
    row = _delivery_row(reader, delivery_id)
    args = {"delivery_id": delivery_id, "level": level, "limit": paging.limit, "offset": paging.offset}
    if "audit_event" in reader.present("audit_event"):
        found = reader.rows("audit_events", args)
        journal = m.Page[m.AuditEvent](
            items=[
                m.AuditEvent(**{k: r[k] for k in m.AuditEvent.model_fields if k not in ("message", "details")},
                             message=_text(viewer, r["message"]), details=_text(viewer, r["details"]))
                for r in found
            ],
            total_entries=found[0]["total"] if found else 0, limit=paging.limit, offset=paging.offset,
        )
        levels = {r["level"]: r["count"] for r in reader.rows("audit_levels", args)}
    else:
        journal = m.Page[m.AuditEvent](
            items=[], total_entries=0, limit=paging.limit, offset=paging.offset,
            available=False, notice=OPTIONAL_TABLES["audit_event"],
        )
        levels = {}
    return m.Audit(
        journal=journal,
        levels=levels,
        pipeline=[m.PipelineObject(**r) for r in reader.rows("audit_objects", args)],
        refreshed_at=row["refreshed_at"],
        refreshed_by_run=row["refreshed_by_run"],
        refreshed_by_dag_id=BUILD_DAG_ID,
    )


# --- Quarantine ---------------------------------------------------------------------------------------------


def _quarantine_row(viewer: Viewer, r: dict[str, Any]) -> m.QuarantineRow:
    return m.QuarantineRow(
        **{k: r[k] for k in ("status", "error_count", "last_error_at", "last_error_reason", "first_error_at",
                             "updated_at")},
        phone=_phone(viewer, r["phone_e164"]) or "",
        cause=_text(viewer, r["cause"]) or "",
    )


def quarantine(
    reader: Reader, viewer: Viewer, filters: params.QuarantineFilters, paging: params.Paging
) -> m.Page[m.QuarantineRow]:
    if "quarantine" not in reader.present("quarantine"):
        return m.Page[m.QuarantineRow](
            items=[], total_entries=0, limit=paging.limit, offset=paging.offset,
            available=False, notice=OPTIONAL_TABLES["quarantine"],
        )
    args = {
        "status": filters.status, **phone_args(viewer, filters.phone),
        "limit": paging.limit, "offset": paging.offset, "cap": COUNT_CAP + 1,
    }
    where = _sql_file("quarantine_filters")
    order = params.order_by(params.QUARANTINE_SORTS, filters.sort, filters.direction, "q.phone_e164")
    found = reader.rows("quarantine", args, filters=where, order_by=order)
    total = (reader.row("quarantine_count", args, filters=where) or {"total": 0})["total"]
    return m.Page[m.QuarantineRow](
        items=[_quarantine_row(viewer, r) for r in found],
        total_entries=min(total, COUNT_CAP), total_is_capped=total > COUNT_CAP,
        limit=paging.limit, offset=paging.offset,
    )


def number_history(reader: Reader, viewer: Viewer, phone: str) -> m.NumberHistory:
    present = reader.present("quarantine", "quarantine_history")
    args = {"phone": phone}
    row = reader.row("quarantine_number", args) if "quarantine" in present else None
    history = reader.rows("quarantine_history", args) if "quarantine_history" in present else []
    notice = next((OPTIONAL_TABLES[t] for t in ("quarantine", "quarantine_history") if t not in present), None)
    return m.NumberHistory(
        phone=_phone(viewer, phone) or "",
        quarantine=_quarantine_row(viewer, row) if row else None,
        quarantine_available="quarantine" in present,
        history=[m.QuarantineHistoryRow(**{**h, "reason": _text(viewer, h["reason"])}) for h in history],
        history_available="quarantine_history" in present,
        messages=[m.NumberMessage(**r) for r in reader.rows("number_messages", args)],
        notice=notice,
    )


QUARANTINE_ACTIONS: dict[str, str] = {"release": "Valid", "allowlist": "Allowlisted"}
"""Manual quarantine actions and the status each sets."""


def change_quarantine(reader: Reader, viewer: Viewer, phone: str, action: str, note: str | None) -> m.QuarantineAction:
    """Release a number or allowlist it, as a user event applied by the quarantine state machine.

    ``sms_tracking.quarantine.set_status`` records the event with the user's name and writes the change
    to the quarantine history (editing the quarantine table directly would be undone by a replay).
    """
    from sms_tracking import quarantine as rules
    from sms_tracking.phone import to_e164

    if to_e164(phone) != phone:
        raise Invalid(f"{_phone(viewer, phone)} is not a possible phone number in E.164 form")
    missing = {"quarantine", "quarantine_history", "quarantine_event"} - reader.present(
        "quarantine", "quarantine_history", "quarantine_event"
    )
    if missing:
        raise Conflict(
            f"Quarantine actions are not available yet: {', '.join(sorted('sms_tracking.' + t for t in missing))} "
            "does not exist (created by migration 0003_quarantine in include/sql/migrations)."
        )
    to_status = QUARANTINE_ACTIONS[action]
    current = reader.row("quarantine_number", {"phone": phone})
    if action == "release" and current is None:
        raise NotFound(f"{_phone(viewer, phone)} is not in the quarantine table: nothing to release.")
    from_status = current["status"] if current else rules.VALID
    if from_status == to_status:
        raise Conflict(f"{_phone(viewer, phone)} is already {to_status}: nothing to {action}.")
    rules.set_status(phone, to_status, actor=viewer.username, note=note)
    return m.QuarantineAction(
        phone=_phone(viewer, phone) or "", action=action, from_status=from_status, to_status=to_status,
        actor=viewer.username,
    )


# --- Qualification and data quality -------------------------------------------------------------------------


def qualification(
    reader: Reader, viewer: Viewer, provider: str | None, state: str | None, paging: params.Paging
) -> m.Page[m.QualificationRow]:
    args = {"provider": provider, "state": state, "limit": paging.limit, "offset": paging.offset}
    found = reader.rows("qualification", args)
    return m.Page[m.QualificationRow](
        items=[
            m.QualificationRow(**{k: r[k] for k in m.QualificationRow.model_fields if k != "first_text"},
                               first_text=_text(viewer, r["first_text"]))
            for r in found
        ],
        total_entries=found[0]["total"] if found else 0, limit=paging.limit, offset=paging.offset,
    )


def qualification_providers(reader: Reader) -> list[str]:
    return [r["provider"] for r in reader.rows("qualification_providers")]


def quality(reader: Reader, viewer: Viewer) -> m.Quality:
    docs = (UiSettings.from_env().data_docs_dir / "index.html").is_file()
    if "validation_result" not in reader.present("validation_result"):
        return m.Quality(available=False, notice=OPTIONAL_TABLES["validation_result"], tables=[],
                         data_docs_available=docs)
    tables: dict[str, list[m.ValidationRow]] = {}
    for r in reader.rows("validation_latest"):
        r = {**r, "observed_value": _text(viewer, r["observed_value"]),
             "unexpected_sample": _text(viewer, r["unexpected_sample"])}
        tables.setdefault(r["table_name"], []).append(m.ValidationRow(**r))
    return m.Quality(
        available=True,
        notice=None if tables else "The validation table exists but holds no results yet.",
        tables=[
            m.TableValidation(
                table_name=name,
                success=not any(v.success is False for v in results),
                failed=sum(v.success is False for v in results),
                critical_failed=sum(v.success is False and v.critical for v in results),
                skipped=sum(v.success is None for v in results),
                run_id=results[0].run_id,
                validated_at=max(v.validated_at for v in results),
                results=results,
            )
            for name, results in tables.items()
        ],
        data_docs_available=docs,
    )
