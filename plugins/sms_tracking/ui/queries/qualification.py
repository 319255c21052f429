"""The qualification table of provider statuses."""

from __future__ import annotations

from typing import Any

from sms_tracking.ui import datamodels as m, params
from sms_tracking.ui.auth import Viewer
from sms_tracking.ui.queries.base import (
    ListQuery,
    Reader,
    masked_text,
)


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
