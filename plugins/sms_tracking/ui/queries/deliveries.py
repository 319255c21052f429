"""The deliveries list and its filter choices."""

from __future__ import annotations

from typing import Any

from sms_tracking.ui import bots, datamodels as m, params
from sms_tracking.ui.queries.base import (
    Reader,
    capped_total,
    count_cap,
    sql_file,
)


def deliveries(reader: Reader, filters: params.DeliveryFilters, paging: params.Paging) -> m.Page[m.DeliveryRow]:
    args = {**filters.sql_params(), "limit": paging.limit, "offset": paging.offset, **count_cap()}
    order = params.order_by(params.DELIVERY_SORTS, filters.sort, filters.direction, "delivery_id", nulls_last=True)
    where = sql_file("deliveries_filters")
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
    clicks = (
        {
            r["delivery_id"]: r
            for r in reader.rows(
                "clicks_per_delivery", {**bots.human_params(), "delivery_ids": [r["delivery_id"] for r in found]}
            )
        }
        if found
        else {}
    )
    items = [
        m.DeliveryRow(
            **{
                k: r[k]
                for k in (
                    "delivery_id",
                    "name",
                    "sender",
                    "provider",
                    "created_at",
                    "scheduled_at",
                    "is_proof",
                    "state",
                    "success",
                    "delivered",
                    "pending",
                    "refreshed_at",
                )
            },
            to_deliver=r["to_deliver"],
            processed=r["processed"],
            sent=r["sent"],
            cancelled=r["cancelled"],
            errors=r["failed"],
            success_rate=float(r["success_rate"]) if r["success_rate"] is not None else None,
            clicks=clicks.get(r["delivery_id"], {}).get("clicks", 0),
            human_clicks=clicks.get(r["delivery_id"], {}).get("human_clicks", 0),
        )
        for r in found
    ]
    return m.Page[m.DeliveryRow](
        items=items,
        **capped_total(total),
        limit=paging.limit,
        offset=paging.offset,
    )


def delivery_choices(reader: Reader) -> m.DeliveryChoices:
    found = reader.rows("delivery_choices")
    return m.DeliveryChoices(
        providers=[r["value"] for r in found if r["field"] == "provider"],
        senders=[r["value"] for r in found if r["field"] == "sender"],
    )
