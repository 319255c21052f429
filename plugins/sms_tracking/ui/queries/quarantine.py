"""The quarantine list, a number's history, and the manual release and allowlisting."""

from __future__ import annotations

from typing import Any

from sms_tracking.ui import datamodels as m, params
from sms_tracking.ui.auth import Viewer
from sms_tracking.ui.queries.base import (
    COUNT_CAP,
    OPTIONAL_TABLES,
    Conflict,
    Invalid,
    ListQuery,
    NotFound,
    Reader,
    check_sort,
    count_cap,
    counted_page,
    masked_phone,
    masked_text,
    phone_args,
    sql_file,
    unavailable_page,
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


def _filter_args(viewer: Viewer, filters: params.QuarantineFilters) -> dict[str, Any]:
    return {
        "status": filters.status,
        **phone_args(viewer, filters.phone),
        "reason": filters.reason,
        "delivery": filters.delivery,
    }


def _where(filters: params.QuarantineFilters) -> str:
    """The list's WHERE clause: the delivery filter is joined in only when set, so it can lead the plan."""
    where = sql_file("quarantine_filters")
    return f"{where} AND {sql_file('quarantine_delivery_filters')}" if filters.delivery else where


def status_counts(reader: Reader, viewer: Viewer, filters: params.QuarantineFilters) -> dict[str, int]:
    """Numbers per status under the other filters in force: the counts at the top of the list."""
    if "quarantine" not in reader.present("quarantine"):
        return {}
    args = {**_filter_args(viewer, filters), "status": None}
    found = {r["status"]: r["total"] for r in reader.rows("quarantine_status_counts", args, filters=_where(filters))}
    return {status: found.get(status, 0) for status in params.QUARANTINE_STATUSES}


def quarantine_query(viewer: Viewer, filters: params.QuarantineFilters) -> ListQuery:
    """The quarantine list under its filters and sort, for its page and its export."""
    check_sort(viewer, filters.sort)
    order = params.order_by(params.QUARANTINE_SORTS, filters.sort, filters.direction, "q.phone_e164")
    return ListQuery(
        "quarantine",
        _filter_args(viewer, filters),
        {"filters": _where(filters), "order_by": order},
        lambda r: _quarantine_row(viewer, r),
    )


def quarantine(
    reader: Reader, viewer: Viewer, filters: params.QuarantineFilters, paging: params.Paging
) -> m.Page[m.QuarantineRow]:
    if "quarantine" not in reader.present("quarantine"):
        return unavailable_page("quarantine", paging)
    return counted_page(reader, quarantine_query(viewer, filters), "quarantine_count", paging)


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
    _require_action_tables(reader)
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


def _require_action_tables(reader: Reader) -> None:
    missing = {"quarantine", "quarantine_history", "quarantine_event"} - reader.present(
        "quarantine", "quarantine_history", "quarantine_event"
    )
    if missing:
        raise Conflict(
            f"Quarantine actions are not available yet: {', '.join(sorted('sms_tracking.' + t for t in missing))} "
            "does not exist (created by migration 0003_quarantine in include/sql/migrations)."
        )


def bulk_targets(reader: Reader, viewer: Viewer, filters: params.QuarantineFilters, action: str) -> list[str]:
    """The filtered numbers a bulk action would change (not already in its status), at most :data:`COUNT_CAP`.

    The confirmation page shows how many; more than the cap is refused (narrow the filters).
    """
    _require_action_tables(reader)
    args = {**_filter_args(viewer, filters), "to_status": QUARANTINE_ACTIONS[action], **count_cap()}
    phones = [r["phone_e164"] for r in reader.rows("quarantine_bulk", args, filters=_where(filters))]
    if len(phones) > COUNT_CAP:
        raise Invalid(f"More than {COUNT_CAP:,} numbers match these filters: narrow them to act in bulk.")
    return phones


def change_quarantine_bulk(
    reader: Reader, viewer: Viewer, filters: params.QuarantineFilters, action: str, note: str | None, expected: int
) -> m.QuarantineBulkAction:
    """Release or allowlist every filtered number, once the user confirmed how many that is.

    ``expected`` is the count the confirmation showed: if the filtered set changed since, nothing is done.
    Each number gets its own user event (``sms_tracking.quarantine.set_statuses``), as a single action would.
    """
    from sms_tracking import quarantine as rules

    phones = bulk_targets(reader, viewer, filters, action)
    if len(phones) != expected:
        raise Conflict(
            f"{len(phones):,} numbers match these filters now, not the {expected:,} you confirmed: "
            "nothing was changed; review the confirmation again."
        )
    to_status = QUARANTINE_ACTIONS[action]
    if phones:
        rules.set_statuses(phones, to_status, actor=viewer.username, note=note)
    return m.QuarantineBulkAction(action=action, to_status=to_status, changed=len(phones), actor=viewer.username)
