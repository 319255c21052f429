"""The data-quality page: the latest validation result of each check, by table."""

from __future__ import annotations

from sms_tracking.settings import get_settings
from sms_tracking.ui import datamodels as m
from sms_tracking.ui.auth import Viewer
from sms_tracking.ui.queries.base import (
    OPTIONAL_TABLES,
    Reader,
    masked_text,
)


def quality(reader: Reader, viewer: Viewer) -> m.Quality:
    docs = (get_settings().data_docs_dir / "index.html").is_file()
    if "validation_result" not in reader.present("validation_result"):
        return m.Quality(
            available=False, notice=OPTIONAL_TABLES["validation_result"], tables=[], data_docs_available=docs
        )
    tables: dict[str, list[m.ValidationRow]] = {}
    for r in reader.rows("validation_latest"):
        r = {
            **r,
            "observed_value": masked_text(viewer, r["observed_value"]),
            "unexpected_sample": masked_text(viewer, r["unexpected_sample"]),
        }
        tables.setdefault(r["table_name"], []).append(m.ValidationRow(**r))
    return m.Quality(
        available=True,
        notice=None if tables else "The validation table exists but holds no results yet.",
        tables=[
            m.TableValidation(
                table_name=name,
                success=not any(v.success is False for v in results),
                failed=sum(v.success is False for v in results),
                critical_failed=sum(v.success is False and v.critical for v in results),
                skipped=sum(v.success is None for v in results),
                run_id=results[0].run_id,
                validated_at=max(v.validated_at for v in results),
                results=results,
            )
            for name, results in tables.items()
        ],
        data_docs_available=docs,
    )
