"""The quarantine list, a number's history, and the manual release and allowlisting."""

from __future__ import annotations

from typing import Any

from sms_tracking.ui import datamodels as m, params
from sms_tracking.ui.auth import Viewer
from sms_tracking.ui.queries.base import (
    OPTIONAL_TABLES,
    Conflict,
    Invalid,
    NotFound,
    Reader,
    capped_total,
    count_cap,
    masked_phone,
    masked_text,
    phone_args,
    sql_file,
)


def _quarantine_row(viewer: Viewer, r: dict[str, Any]) -> m.QuarantineRow:
    return m.QuarantineRow(
        **{
            k: r[k]
            for k in ("status", "error_count", "last_error_at", "last_error_reason", "first_error_at", "updated_at")
        },
        phone=masked_phone(viewer, r["phone_e164"]) or "",
        cause=masked_text(viewer, r["cause"]) or "",
    )


def quarantine(
    reader: Reader, viewer: Viewer, filters: params.QuarantineFilters, paging: params.Paging
) -> m.Page[m.QuarantineRow]:
    if "quarantine" not in reader.present("quarantine"):
        return m.Page[m.QuarantineRow](
            items=[],
            total_entries=0,
            limit=paging.limit,
            offset=paging.offset,
            available=False,
            notice=OPTIONAL_TABLES["quarantine"],
        )
    args = {
        "status": filters.status,
        **phone_args(viewer, filters.phone),
        "limit": paging.limit,
        "offset": paging.offset,
        **count_cap(),
    }
    where = sql_file("quarantine_filters")
    order = params.order_by(params.QUARANTINE_SORTS, filters.sort, filters.direction, "q.phone_e164")
    found = reader.rows("quarantine", args, filters=where, order_by=order)
    total = (reader.row("quarantine_count", args, filters=where) or {"total": 0})["total"]
    return m.Page[m.QuarantineRow](
        items=[_quarantine_row(viewer, r) for r in found],
        **capped_total(total),
        limit=paging.limit,
        offset=paging.offset,
    )


def number_history(reader: Reader, viewer: Viewer, phone: str) -> m.NumberHistory:
    present = reader.present("quarantine", "quarantine_history")
    args = {"phone": phone}
    row = reader.row("quarantine_number", args) if "quarantine" in present else None
    history = reader.rows("quarantine_history", args) if "quarantine_history" in present else []
    notice = next((OPTIONAL_TABLES[t] for t in ("quarantine", "quarantine_history") if t not in present), None)
    return m.NumberHistory(
        phone=masked_phone(viewer, phone) or "",
        quarantine=_quarantine_row(viewer, row) if row else None,
        quarantine_available="quarantine" in present,
        history=[m.QuarantineHistoryRow(**{**h, "reason": masked_text(viewer, h["reason"])}) for h in history],
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
        raise Invalid(f"{masked_phone(viewer, phone)} is not a possible phone number in E.164 form")
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
        raise NotFound(f"{masked_phone(viewer, phone)} is not in the quarantine table: nothing to release.")
    from_status = current["status"] if current else rules.VALID
    if from_status == to_status:
        raise Conflict(f"{masked_phone(viewer, phone)} is already {to_status}: nothing to {action}.")
    rules.set_status(phone, to_status, actor=viewer.username, note=note)
    return m.QuarantineAction(
        phone=masked_phone(viewer, phone) or "",
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=viewer.username,
    )
