"""The qualification table of provider statuses."""

from __future__ import annotations

from sms_tracking.ui import datamodels as m, params
from sms_tracking.ui.auth import Viewer
from sms_tracking.ui.queries.base import (
    Reader,
    masked_text,
)


def qualification(
    reader: Reader, viewer: Viewer, provider: str | None, state: str | None, paging: params.Paging
) -> m.Page[m.QualificationRow]:
    args = {"provider": provider, "state": state, "limit": paging.limit, "offset": paging.offset}
    found = reader.rows("qualification", args)
    return m.Page[m.QualificationRow](
        items=[
            m.QualificationRow(
                **{k: r[k] for k in m.QualificationRow.model_fields if k != "first_text"},
                first_text=masked_text(viewer, r["first_text"]),
            )
            for r in found
        ],
        total_entries=found[0]["total"] if found else 0,
        limit=paging.limit,
        offset=paging.offset,
    )


def qualification_providers(reader: Reader) -> list[str]:
    return [r["provider"] for r in reader.rows("qualification_providers")]
