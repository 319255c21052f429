"""The qualification table of provider statuses, its rows' edits and their history."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sms_tracking.qualification import DELIVERY_STATUSES, FAILURE_TYPES, FailureReason, failure_reasons
from sms_tracking.ui import datamodels as m, params, runs
from sms_tracking.ui.auth import Viewer
from sms_tracking.ui.queries.base import Conflict, Invalid, ListQuery, NotFound, Reader, masked_text

EDIT_STATES = ("keep", "ignore")
"""The states an edit gives a row: qualifying a row *to qualify* is choosing one of them."""
HISTORY_LIMIT = 50


def qualification_query(viewer: Viewer, provider: str | None, state: str | None) -> ListQuery:
    """The qualification table under its filters, for its page and its export."""

    def to_model(r: dict[str, Any]) -> m.QualificationRow:
        return m.QualificationRow(
            **{k: r[k] for k in m.QualificationRow.model_fields if k != "first_text"},
            first_text=masked_text(viewer, r["first_text"]),
        )

    return ListQuery("qualification", {"provider": provider, "state": state}, {}, to_model)


def qualification(
    reader: Reader, viewer: Viewer, provider: str | None, state: str | None, paging: params.Paging
) -> m.Page[m.QualificationRow]:
    query = qualification_query(viewer, provider, state)
    found = reader.rows(query.name, {**query.args, "limit": paging.limit, "offset": paging.offset})
    return m.Page[m.QualificationRow](
        items=[query.to_model(r) for r in found],
        total_entries=found[0]["total"] if found else 0,
        limit=paging.limit,
        offset=paging.offset,
    )


def qualification_providers(reader: Reader) -> list[str]:
    return [r["provider"] for r in reader.rows("qualification_providers")]


@dataclass(frozen=True)
class RowKey:
    provider: str
    raw_status: str
    error_code: str

    def args(self) -> dict[str, str]:
        return {"provider": self.provider, "raw_status": self.raw_status, "error_code": self.error_code}

    def requalify_conf(self) -> dict[str, Any]:
        """The requalify run's scope: the row's provider, and its status and code unless wildcards. The run
        does not apply the overrides file: it would not change an edited row (:func:`set_by_file`)."""
        return {
            "provider": self.provider,
            "raw_status": None if self.raw_status == "*" else self.raw_status,
            "error_code": None if self.error_code == "*" else self.error_code,
            "apply_overrides": False,
        }


@dataclass(frozen=True)
class Edit:
    state: str
    outcome: str
    failure_type: str | None
    failure_reason: str | None


def checked_edit(edit: Edit, reasons: list[FailureReason]) -> dict[str, Any]:
    """The values an edit writes, or Invalid naming the allowed ones: a failure has a type and a reason from
    the vocabulary that allows that type; any other outcome has neither; pending is the only non-final one."""

    def one_of(values: Any) -> str:
        return ", ".join(f"'{v}'" for v in values)

    if edit.state not in EDIT_STATES:
        raise Invalid(f"state {edit.state!r} is not one of {one_of(EDIT_STATES)}")
    if edit.outcome not in DELIVERY_STATUSES:
        raise Invalid(f"outcome {edit.outcome!r} is not one of {one_of(DELIVERY_STATUSES)}")
    kind, reason = edit.failure_type or None, edit.failure_reason or None
    if edit.outcome != "failed":
        if kind or reason:
            raise Invalid(f"a {edit.outcome} row has no failure type or reason (only failed rows do)")
    else:
        allowed = {r.reason: r.failure_types for r in reasons}
        if kind not in FAILURE_TYPES:
            raise Invalid(f"failure type {kind!r} is not one of {one_of(FAILURE_TYPES)}")
        if reason not in allowed:
            raise Invalid(f"failure reason {reason!r} is not one of {one_of(allowed)}")
        if kind not in allowed[reason]:
            raise Invalid(f"failure reason {reason!r} allows the failure types {one_of(allowed[reason])}, not {kind!r}")
    return {
        "state": edit.state,
        "outcome": edit.outcome,
        "is_final": edit.outcome != "pending",
        "failure_type": kind,
        "failure_reason": reason,
    }


def set_by_file(key: RowKey) -> str | None:
    """The overrides file's name when it sets this row. The file wins (docs/qualification.md): an edit here
    would be overwritten the next time the requalify DAG applies it, so the view refuses it."""
    from sms_tracking.pipeline import read_overrides
    from sms_tracking.settings import get_settings

    path: Path = get_settings().config_file("qualification_overrides")
    if not path.is_file():
        return None
    keys = {(r[0], r[1], r[2]) for r in read_overrides(path)}
    return path.name if (key.provider, key.raw_status, key.error_code) in keys else None


def changes(reader: Reader, key: RowKey | None = None, limit: int = HISTORY_LIMIT) -> list[m.QualificationChange]:
    """The view's edits, latest first (of one row when a key is given), with their run's state and result."""
    if "qualification_change" not in reader.present("qualification_change"):
        return []
    args = {**(key.args() if key else {"provider": None, "raw_status": None, "error_code": None}), "limit": limit}
    found = reader.rows("qualification_changes", args)
    state = runs.states(r["requalify_run_id"] for r in found)
    return [m.QualificationChange(**r, run_state=state.get(r["requalify_run_id"])) for r in found]


def qualification_detail(reader: Reader, viewer: Viewer, key: RowKey) -> m.QualificationDetail:
    row = reader.row("qualification_row", key.args(), lock="")
    if row is None:
        raise NotFound(f"No qualification row ({key.provider}, {key.raw_status}, {key.error_code})")
    return m.QualificationDetail(
        row=qualification_query(viewer, None, None).to_model(row),
        history=changes(reader, key),
        reasons={r.reason: list(r.failure_types) for r in failure_reasons(reader.conn)},
        set_by_file=set_by_file(key),
    )


def edit_qualification(reader: Reader, viewer: Viewer, key: RowKey, edit: Edit, note: str | None) -> str:
    """Write the edit and journal it (who, when, before, after); returns the id of the requalify run to start
    once this commits (:func:`sms_tracking.ui.runs.start`)."""
    values = checked_edit(edit, failure_reasons(reader.conn))
    if "qualification_change" not in reader.present("qualification_change"):
        raise Conflict(
            "Qualification edits are not available yet: sms_tracking.qualification_change is created by "
            "migration 0026_qualification_change in include/sql/migrations."
        )
    current = reader.row("qualification_row", key.args(), lock="FOR UPDATE")
    if current is None:
        raise NotFound(f"No qualification row ({key.provider}, {key.raw_status}, {key.error_code})")
    file = set_by_file(key)
    if file:
        raise Conflict(f"{file} sets this row, and the file wins: change it there (then run the requalify DAG).")
    if all(current[k] == v for k, v in values.items()):
        raise Conflict("The row already has these values: nothing to change.")
    run_id = runs.new_run_id()
    reader.rows(
        "qualification_edit", {**key.args(), **values, "actor": viewer.username, "note": note, "run_id": run_id}
    )
    return run_id
