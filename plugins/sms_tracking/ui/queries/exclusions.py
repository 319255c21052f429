"""A delivery's exclusions tab: the recipients left out, and why."""

from __future__ import annotations

from typing import Any

from sms_tracking.ui import datamodels as m, params
from sms_tracking.ui.auth import Viewer
from sms_tracking.ui.queries.base import (
    ListQuery,
    Reader,
    masked_phone,
    masked_text,
    preferring_summary,
    unavailable_page,
)
from sms_tracking.ui.queries.delivery import delivery_row


def exclusions_query(viewer: Viewer, delivery_id: str, reason: str | None) -> ListQuery:
    """A delivery's excluded recipients, for its tab and its export (the exclusion table must exist)."""

    def to_model(r: dict[str, Any]) -> m.ExclusionRow:
        return m.ExclusionRow(
            recipient_id=r["recipient_id"],
            phone=masked_phone(viewer, r["phone_e164"]),
            phone_raw=masked_text(viewer, r["phone_raw"]),
            reason=r["reason"],
            prepared_at=r["prepared_at"],
            decided_at=r["decided_at"],
            run_id=r["run_id"],
        )

    return ListQuery("exclusions", {"delivery_id": delivery_id, "reason": reason}, {}, to_model)


def exclusions(
    reader: Reader, viewer: Viewer, delivery_id: str, reason: str | None, paging: params.Paging
) -> m.Exclusions:
    delivery_row(reader, delivery_id)
    if "exclusion" not in reader.present("exclusion"):
        return m.Exclusions(causes=[], recipients=unavailable_page("exclusion", paging))
    args = {"delivery_id": delivery_id, "reason": reason, "limit": paging.limit, "offset": paging.offset}
    causes = [
        m.LabelCount(label=r["reason"], count=r["count"])
        for r in preferring_summary(reader, "delivery_exclusion_summary", "exclusion_summary", "exclusion_causes", args)
    ]
    items = reader.page_of(exclusions_query(viewer, delivery_id, reason), paging.limit, paging.offset)
    # The cause counts already say how many rows match: no count over a large exclusion list.
    total = sum(c.count for c in causes if reason is None or c.label == reason)
    page = m.Page[m.ExclusionRow](items=items, total_entries=total, limit=paging.limit, offset=paging.offset)
    return m.Exclusions(causes=causes, recipients=page)
