"""A delivery's Summary tab: KPIs, clicks, exclusions, and the aggregates of its delivery log."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sms_tracking.qualification import DELIVERY_STATUSES, status_label
from sms_tracking.ui import bots, datamodels as m
from sms_tracking.ui.queries.base import (
    Reader,
    preferring_summary,
    time_unit,
)
from sms_tracking.ui.queries.delivery import delivery_of, delivery_row, kpis_of
from sms_tracking.ui.settings import BUILD_DAG_ID

LATENCY_BUCKETS = ("< 10 s", "10-30 s", "30 s-1 min", "1-5 min", "5-15 min", "15 min-1 h", "1-6 h", "≥ 6 h")


@dataclass(frozen=True)
class LogBreakdown:
    """What the Summary tab aggregates from the delivery log: failures, latency and the timeline."""

    failures: list[m.FailureCount]
    latency: list[m.LabelCount]
    timeline: list[m.TimePoint]
    unit: str


class BreakdownCache:
    """Log aggregates per delivery, keyed by the summary's refresh time.

    The delivery log of a delivery only changes in a build run, and every such run refreshes the
    delivery's summary row (``refreshed_at``): a key with that time can never be stale, and a large
    delivery's log is aggregated once per build instead of once per page view.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str, Any], LogBreakdown] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, Any], compute: Callable[[], LogBreakdown]) -> LogBreakdown:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


BREAKDOWNS = BreakdownCache()


def _unknown_reason() -> str:
    """What a failure without a reason is called: the option the build gives unqualified statuses."""
    from sms_tracking.settings import get_settings

    return get_settings().unknown_failure_reason


def _log_breakdown(reader: Reader, row: dict[str, Any]) -> LogBreakdown:
    unit = time_unit(row["first_submit_at"], row["last_report_at"])
    found = reader.rows(
        "delivery_breakdown", {"delivery_id": row["delivery_id"], "unit": unit, "unknown_reason": _unknown_reason()}
    )
    latency = {r["latency"]: r["count"] for r in found if r["part"] == "latency"}
    timeline: dict[datetime, dict[str, int]] = {}
    for r in found:
        if r["part"] == "time":
            timeline.setdefault(r["bucket"], dict.fromkeys(DELIVERY_STATUSES, 0))[r["status"]] = r["count"]
    return LogBreakdown(
        failures=[
            m.FailureCount(failure_type=r["failure_type"], failure_reason=r["failure_reason"], count=r["count"])
            for r in found
            if r["part"] == "failure"
        ],
        latency=[m.LabelCount(label=label, count=latency.get(i, 0)) for i, label in enumerate(LATENCY_BUCKETS)]
        if latency
        else [],
        timeline=[m.TimePoint(bucket=bucket, values=values) for bucket, values in sorted(timeline.items())],
        unit=unit,
    )


def _failures(reader: Reader, row: dict[str, Any], log: LogBreakdown) -> list[m.FailureCount]:
    """The build's delivery_failure_summary when it has the delivery, else the log breakdown."""
    if "delivery_failure_summary" in reader.present("delivery_failure_summary"):
        found = reader.rows("failure_summary", {"delivery_id": row["delivery_id"], "unknown_reason": _unknown_reason()})
        if found:
            return [m.FailureCount(**r) for r in found]
    return log.failures


def delivery_summary(reader: Reader, delivery_id: str) -> m.DeliverySummary:
    row = delivery_row(reader, delivery_id)
    kpis = kpis_of(row)
    args = {"delivery_id": delivery_id}
    present = reader.present("exclusion")
    clicks = reader.row("clicks_per_delivery", {**bots.human_params(), "delivery_ids": [delivery_id]}) or {}
    causes = (
        preferring_summary(reader, "delivery_exclusion_summary", "exclusion_summary", "exclusion_causes", args)
        if "exclusion" in present
        else []
    )
    if row["refreshed_at"] is None:
        log = _log_breakdown(reader, row)
    else:
        key = (
            f"{reader.conn.info.host}:{reader.conn.info.port}/{reader.conn.info.dbname}",
            delivery_id,
            row["refreshed_at"],
        )
        log = BREAKDOWNS.get(key, lambda: _log_breakdown(reader, row))
    breakdown = [(status_label(code), code) for code in ("delivered", "pending", "failed", "cancelled")]
    return m.DeliverySummary(
        delivery=delivery_of(row),
        kpis=kpis,
        targets=(reader.row("delivery_targets", args) or {}).get("targets", 0),
        excluded=sum(c["count"] for c in causes) if "exclusion" in present else None,
        clicks=clicks.get("clicks", 0),
        human_clicks=clicks.get("human_clicks", 0),
        refreshed_by_dag_id=BUILD_DAG_ID,
        status_breakdown=[m.LabelCount(label=label, count=row[key] or 0) for label, key in breakdown] if kpis else [],
        failures=_failures(reader, row, log),
        exclusions_by_cause=[m.LabelCount(label=c["reason"], count=c["count"]) for c in causes],
        latency=log.latency,
        reports_over_time=log.timeline,
        timeline_unit=log.unit,
    )
