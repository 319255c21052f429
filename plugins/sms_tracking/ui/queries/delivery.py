"""One delivery: its row and KPIs (the header of every tab), its SMS content and its audit tab."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sms_tracking.ui import datamodels as m, params
from sms_tracking.ui.auth import Viewer
from sms_tracking.ui.queries.base import (
    NotFound,
    Reader,
    masked_text,
    rate,
    unavailable_page,
)
from sms_tracking.ui.settings import BUILD_DAG_ID


def delivery_row(reader: Reader, delivery_id: str) -> dict[str, Any]:
    row = reader.row("delivery", {"delivery_id": delivery_id})
    if row is None:
        raise NotFound(f"No delivery with id {delivery_id!r}")
    return row


def delivery_of(row: dict[str, Any]) -> m.Delivery:
    return m.Delivery(**{k: row[k] for k in m.Delivery.model_fields})


def kpis_of(row: dict[str, Any]) -> m.Kpis | None:
    if not row["has_summary"]:
        return None
    return m.Kpis(
        **{k: row[k] for k in m.Kpis.model_fields if k not in ("success_rate", "delivery_rate", "indicators")},
        indicators=row["summary_row"],
        success_rate=float(row["success_rate"]) if row["success_rate"] is not None else None,
        delivery_rate=rate(row["delivered"], row["sent"]),
    )


def delivery_header(reader: Reader, delivery_id: str) -> tuple[m.Delivery, m.Kpis | None]:
    row = delivery_row(reader, delivery_id)
    return delivery_of(row), kpis_of(row)


def sms_content(reader: Reader, delivery_id: str) -> m.SmsContent:
    from sms_tracking import segments
    from sms_tracking.tracking import extract_urls

    row = delivery_row(reader, delivery_id)
    measured = segments.profile(row["content"])
    return m.SmsContent(
        delivery_id=row["delivery_id"],
        content=row["content"],
        sender=row["sender"],
        provider=row["provider"],
        **asdict(measured),
        single_limit=segments.SINGLE_LIMIT[measured.encoding],
        part_limit=segments.PART_LIMIT[measured.encoding],
        sent_segments=row["segments"],
        urls=[
            m.SmsUrl(position=u.position, url=u.url, label=u.label, is_opt_out=u.is_opt_out)
            for u in extract_urls(row["content"])
        ],
    )


def audit(reader: Reader, viewer: Viewer, delivery_id: str, level: str | None, paging: params.Paging) -> m.Audit:
    row = delivery_row(reader, delivery_id)
    args = {"delivery_id": delivery_id, "level": level, "limit": paging.limit, "offset": paging.offset}
    if "audit_event" in reader.present("audit_event"):
        found = reader.rows("audit_events", args)
        journal = m.Page[m.AuditEvent](
            items=[
                m.AuditEvent(
                    **{k: r[k] for k in m.AuditEvent.model_fields if k not in ("message", "details")},
                    message=masked_text(viewer, r["message"]),
                    details=masked_text(viewer, r["details"]),
                )
                for r in found
            ],
            total_entries=found[0]["total"] if found else 0,
            limit=paging.limit,
            offset=paging.offset,
        )
        levels = {r["level"]: r["count"] for r in reader.rows("audit_levels", args)}
    else:
        journal = unavailable_page("audit_event", paging)
        levels = {}
    return m.Audit(
        journal=journal,
        levels=levels,
        pipeline=[m.PipelineObject(**r) for r in reader.rows("audit_objects", args)],
        refreshed_at=row["refreshed_at"],
        refreshed_by_run=row["refreshed_by_run"],
        refreshed_by_dag_id=BUILD_DAG_ID,
    )
