"""The KPI tiles of the Summary tab, read from the delivery's ``delivery_summary`` row.

Each tile shows one column of that row (``data-kpi`` = the column, ``data-value`` = its value, so a
test can compare them with the table); indicators that later migrations add (Adobe's initial
population, excluded, to deliver, processed, clicks...) get their tile as soon as the column exists.
Figures the UI computes itself are marked ``computed`` and never carry ``data-kpi``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sms_tracking.qualification import status_label
from sms_tracking.ui import datamodels as m


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: Any
    sub: str = ""
    tone: str = ""
    computed: bool = False


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.1f} %"


def summary_tiles(summary: m.DeliverySummary) -> list[Tile]:
    """Adobe's order: population, to deliver, outcome, failure types, volume, then clicks."""
    kpis = summary.kpis
    if kpis is None:
        return []
    row = kpis.indicators
    adobe = "to_deliver" in row
    tiles: list[Tile] = []
    if adobe:
        tiles += [
            Tile("initial_population", "Initial population", row["initial_population"], "recipients targeted"),
            Tile("excluded", "Excluded", row["excluded"], "at preparation"),
            Tile("to_deliver", "To deliver", row["to_deliver"], "after exclusions"),
            Tile("processed", "Processed", row["processed"], "success + errors"),
        ]
    tiles += [
        Tile("sent", "Sent" if adobe else "To deliver", row["sent"], "messages handed to the provider"),
        Tile("success", "Success", row["success"], f"{_pct(kpis.success_rate)} · delivered or pending", "good"),
        Tile(
            "delivered",
            status_label("delivered"),
            row["delivered"],
            f"{_pct(kpis.delivery_rate)} · delivery rate",
            "good",
        ),
        Tile("failed", "Errors", row["failed"], f"status {status_label('failed')}", "bad"),
        Tile("pending", "No report yet", row["pending"], f"status {status_label('pending')}: taken into account"),
        Tile("cancelled", status_label("cancelled"), row.get("cancelled", 0), "never sent · not errors"),
        Tile("hard", "Hard errors", row["hard"]),
        Tile("soft", "Soft errors", row["soft"]),
        Tile("ignored", "Ignored errors", row["ignored"]),
        Tile(
            "segments",
            "Segments",
            row["segments"],
            "" if row.get("cost") is None else f"cost {row['cost']} {row.get('cost_unit') or ''}".strip(),
        ),
    ]
    for key, label, sub in (
        ("new_quarantines", "New quarantines", "numbers quarantined by it"),
        ("opt_outs", "Opt-outs", "STOP or opted out after it"),
    ):
        if key in row:
            tiles.append(Tile(key, label, row[key], sub))
    if row.get("total_clicks") is not None:  # the build's counts: the deliveries list shows the same
        tiles += [
            Tile("total_clicks", "Clicks", row["total_clicks"], f"{row['total_clicks_human']:,} human"),
            Tile(
                "unique_clickers_human",
                "Unique human clickers",
                row["unique_clickers_human"],
                f"click-through {_pct(row.get('click_through_rate'))}",
            ),
        ]
    else:
        tiles.append(Tile("clicks", "Clicks", summary.clicks, f"{summary.human_clicks:,} human", computed=True))
    if not adobe:
        excluded = "exclusions not available yet" if summary.excluded is None else f"{summary.excluded:,} excluded"
        tiles.append(Tile("targets", "Initial target", summary.targets, excluded, computed=True))
    return tiles
