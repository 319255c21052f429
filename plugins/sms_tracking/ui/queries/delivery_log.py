"""A delivery's message log, and the failure reasons its filter offers."""

from __future__ import annotations

from typing import Any

from sms_tracking.qualification import status_label
from sms_tracking.settings import get_settings
from sms_tracking.ui import datamodels as m, params
from sms_tracking.ui.auth import Viewer
from sms_tracking.ui.queries.base import (
    ListQuery,
    Reader,
    check_sort,
    counted_page,
    masked_phone,
    masked_text,
    phone_args,
    sql_file,
)
from sms_tracking.ui.queries.delivery import delivery_row


def log_query(viewer: Viewer, delivery_id: str, filters: params.LogFilters) -> ListQuery:
    """The delivery log under its filters and sort, for its page and its export."""
    check_sort(viewer, filters.sort)
    args = {
        "delivery_id": delivery_id,
        "status": filters.status,
        "failure_type": filters.failure_type,
        "failure_reason": filters.failure_reason,
        **phone_args(viewer, filters.phone),
    }
    where = sql_file("delivery_log_filters")
    order = params.order_by(params.LOG_SORTS, filters.sort, filters.direction, "l.provider, l.provider_message_id")

    def to_model(r: dict[str, Any]) -> m.LogRow:
        return m.LogRow(
            **{k: r[k] for k in m.LogRow.model_fields if k not in ("phone", "raw_error", "status_label")},
            status_label=status_label(r["status"]),
            phone=masked_phone(viewer, r["phone_e164"]),
            raw_error=masked_text(viewer, r["raw_error"]),
        )

    return ListQuery("delivery_log", args, {"filters": where, "order_by": order}, to_model)


def delivery_log(
    reader: Reader, viewer: Viewer, delivery_id: str, filters: params.LogFilters, paging: params.Paging
) -> m.Page[m.LogRow]:
    delivery_row(reader, delivery_id)
    return counted_page(reader, log_query(viewer, delivery_id, filters), "delivery_log_count", paging)


def failure_reasons(reader: Reader) -> list[str]:
    args = {"unknown_reason": get_settings().unknown_failure_reason}
    return [r["failure_reason"] for r in reader.rows("failure_reasons", args)]
