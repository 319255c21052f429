"""The data-quality page: a summary, then for each table the results of its latest validation with rows."""

from __future__ import annotations

from typing import Any

from sms_tracking.settings import get_settings
from sms_tracking.ui import datamodels as m
from sms_tracking.ui.auth import Viewer
from sms_tracking.ui.queries.base import (
    OPTIONAL_TABLES,
    Reader,
    masked_text,
)


def readable(value: Any) -> str | None:
    """A stored JSON value as a person reads it: text unquoted, numbers with separators, lists joined,
    objects as ``key: value`` pairs (GX's observed values and samples are stored as JSON)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e15 else str(value)
    if isinstance(value, list):
        return ", ".join(readable(v) or "null" for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {readable(v) or 'null'}" for k, v in value.items())
    return str(value)


def quality(reader: Reader, viewer: Viewer) -> m.Quality:
    docs = (get_settings().data_docs_dir / "index.html").is_file()
    if "validation_result" not in reader.present("validation_result"):
        return m.Quality(
            available=False, notice=OPTIONAL_TABLES["validation_result"], tables=[], data_docs_available=docs
        )
    tables: dict[str, list[m.ValidationRow]] = {}
    newest: dict[str, Any] = {}
    for r in reader.rows("validation_latest"):
        newest[r["table_name"]] = r.pop("newest_at")
        r = {
            **r,
            "observed_value": masked_text(viewer, readable(r["observed_value"])),
            "unexpected_sample": masked_text(viewer, readable(r["unexpected_sample"])),
        }
        tables.setdefault(r["table_name"], []).append(m.ValidationRow(**r))
    validations = [
        m.TableValidation(
            table_name=name,
            success=not any(v.success is False for v in results),
            failed=sum(v.success is False for v in results),
            critical_failed=sum(v.success is False and v.critical for v in results),
            warning_failed=sum(v.success is False and not v.critical for v in results),
            passed=sum(v.success is True for v in results),
            skipped=sum(v.success is None for v in results),
            run_id=results[0].run_id,
            validated_at=max(v.validated_at for v in results),
            newest_validated_at=newest[name],
            results=results,
        )
        for name, results in tables.items()
    ]
    return m.Quality(
        available=True,
        notice=None if tables else "The validation table exists but holds no results yet.",
        tables=validations,
        totals=m.QualityTotals(
            critical_failed=sum(t.critical_failed for t in validations),
            warning_failed=sum(t.warning_failed for t in validations),
            passed=sum(t.passed for t in validations),
            skipped=sum(t.skipped for t in validations),
        ),
        data_docs_available=docs,
    )
