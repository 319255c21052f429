"""Chart specifications for ``static/js/charts.js`` (drawn by the vendored Chart.js, never by hand).

A spec is plain data: type, labels, series with a colour *role* (the script maps roles to the theme's
colours, so charts follow Airflow's light/dark mode).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sms_tracking.qualification import status_label
from sms_tracking.ui import datamodels as m

STATUS_ROLES = {"delivered": "success", "pending": "pending", "failed": "failed", "cancelled": "ignored"}
"""Colour role of each delivery-log status code; charts name the status by its label (status_label)."""
_LABEL_ROLES = {status_label(code): role for code, role in STATUS_ROLES.items()}
TYPE_ROLES = {"Hard": "hard", "Soft": "soft", "Ignored": "ignored"}


UNITS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_BUCKETS = 2_000
"""A time chart fills its empty buckets with zeros up to this many (else it keeps the buckets it has)."""


def _bucket_label(bucket: datetime, unit: str) -> str:
    return bucket.strftime("%Y-%m-%d %H:00" if unit == "hour" else "%Y-%m-%d")


def filled(points: list[m.TimePoint], unit: str) -> list[m.TimePoint]:
    """Every bucket from the first to the last, the empty ones at zero: an hour without reports is a zero
    on the chart, not a missing point the line smooths across."""
    if not points:
        return []
    step = UNITS[unit]
    first, last = points[0].bucket, points[-1].bucket
    if (last - first) / step >= MAX_BUCKETS:
        return points
    found = {p.bucket: p for p in points}
    keys = sorted({k for p in points for k in p.values})
    out, at = [], first
    while at <= last:
        out.append(found.get(at) or m.TimePoint(bucket=at, values=dict.fromkeys(keys, 0)))
        at += step
    return out


def status_breakdown(summary: m.DeliverySummary) -> dict[str, Any]:
    points = summary.status_breakdown
    return {
        "type": "doughnut",
        "labels": [p.label for p in points],
        "series": [
            {
                "label": "Messages",
                "data": [p.count for p in points],
                "roles": [_LABEL_ROLES.get(p.label, "primary") for p in points],
            }
        ],
    }


def failures(summary: m.DeliverySummary) -> dict[str, Any]:
    reasons = sorted(
        {f.failure_reason for f in summary.failures},
        key=lambda r: -sum(f.count for f in summary.failures if f.failure_reason == r),
    )
    series = []
    for failure_type, role in TYPE_ROLES.items():
        counts = {f.failure_reason: f.count for f in summary.failures if f.failure_type == failure_type}
        if counts:
            series.append({"label": failure_type, "data": [counts.get(r, 0) for r in reasons], "role": role})
    return {"type": "bar", "horizontal": True, "stacked": True, "labels": reasons, "series": series}


def counts(points: list[m.LabelCount], label: str, role: str, horizontal: bool = False) -> dict[str, Any]:
    return {
        "type": "bar",
        "horizontal": horizontal,
        "labels": [p.label for p in points],
        "series": [{"label": label, "data": [p.count for p in points], "role": role}],
    }


def timeline(
    points: list[m.TimePoint], unit: str, roles: dict[str, tuple[str, str]], kind: str = "bar"
) -> dict[str, Any]:
    """A chart over a true time axis: ``x`` holds each bucket's start in epoch milliseconds (UTC), every
    bucket present (:func:`filled`); ``roles``: value key -> (series label, colour role)."""
    points = filled(points, unit)
    return {
        "type": kind,
        "stacked": kind == "bar",
        "time_unit_ms": int(UNITS[unit].total_seconds() * 1000),
        "x": [int(p.bucket.timestamp() * 1000) for p in points],
        "labels": [_bucket_label(p.bucket, unit) for p in points],
        "series": [
            {"label": label, "data": [p.values.get(key, 0) for p in points], "role": role}
            for key, (label, role) in roles.items()
        ],
    }


def summary_charts(summary: m.DeliverySummary) -> dict[str, dict[str, Any]]:
    return {
        "status": status_breakdown(summary),
        "failures": failures(summary),
        "exclusions": counts(summary.exclusions_by_cause, "Excluded", "ignored", horizontal=True),
        "latency": counts(summary.latency, "Delivered messages", "primary"),
        "timeline": timeline(
            summary.reports_over_time,
            summary.timeline_unit,
            {code: (status_label(code), role) for code, role in STATUS_ROLES.items()},
        ),
    }


def tracking_charts(tracking: m.Tracking) -> dict[str, dict[str, Any]]:
    return {
        "clicks": timeline(
            tracking.clicks_over_time,
            tracking.timeline_unit,
            {"clicks": ("All clicks", "primary"), "human_clicks": ("Human clicks", "success")},
            kind="line",
        ),
    }
