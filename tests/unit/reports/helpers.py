"""Helpers shared by the report adapter tests (plain functions, imported by each test module).

They were repeated in every adapter's test module: numbering constructed lines, keeping only the
reports or only the rejects' reasons of a parse, and finding the qualification seed row that would
qualify a report.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

from sms_tracking.reports.base import Record, Reject, Report
from sms_tracking.resources import seeds_dir


def numbered(*texts: str) -> list[tuple[int, str]]:
    """Number lines built in a test from 1."""
    return list(enumerate(texts, start=1))


def only_reports(records: list[Record]) -> list[Report]:
    """Only the reports, asserting nothing else came out."""
    assert all(isinstance(record, Report) for record in records), records
    return [record for record in records if isinstance(record, Report)]


def reject_reasons(records: Iterable[Record]) -> list[str]:
    """The reason of each record, asserting every one is a reject (a bad line must not pass as a report)."""
    records = list(records)
    assert all(isinstance(record, Reject) for record in records), records
    return [record.reason for record in records if isinstance(record, Reject)]


class Prefix(str):
    """Equal to any text that starts with it: a reason that ends with a library's own message."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith(self)

    __hash__ = str.__hash__


def seed_row(provider: str, status: str, code: str | None) -> dict[str, str] | None:
    """The seed row that qualifies a report, by the lookup of docs/qualification.md; None if none does.

    The status decides the outcome: (status, code), (status, *), then (*, *). A failure takes its type
    and reason from (status, code), (*, code), (status, *), then (*, *).
    """
    with (seeds_dir() / "qualification.csv").open(encoding="utf-8", newline="") as handle:
        rows = {
            (row["raw_status"], row["error_code"]): row for row in csv.DictReader(handle) if row["provider"] == provider
        }
    exact = [(status, code)] if code else []
    outcome = next((rows[key] for key in [*exact, (status, "*"), ("*", "*")] if key in rows), None)
    if outcome is None or outcome["outcome"] != "failed":
        return outcome
    code_row = [("*", code)] if code else []
    return next(rows[key] for key in [*exact, *code_row, (status, "*"), ("*", "*")] if key in rows)
