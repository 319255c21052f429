"""How long validation results are kept."""

from __future__ import annotations

import logging
import os
from contextlib import closing
from datetime import datetime, timedelta

from sms_tracking import db

log = logging.getLogger(__name__)


DEFAULT_RETENTION_DAYS = 90


def purge_results(reference_time: datetime, dsn: str | None = None) -> dict[str, int]:
    """Delete validation results older than ``SMS_TRACKING_VALIDATION_RETENTION_DAYS`` (90) at
    ``reference_time`` (the cleanup run's data interval end), keeping each check's latest."""
    text = os.environ.get("SMS_TRACKING_VALIDATION_RETENTION_DAYS", str(DEFAULT_RETENTION_DAYS))
    try:
        days = int(text)
    except ValueError:
        raise ValueError(f"SMS_TRACKING_VALIDATION_RETENTION_DAYS: expected a number of days, found {text!r}") from None
    if days < 1:
        raise ValueError(f"SMS_TRACKING_VALIDATION_RETENTION_DAYS: expected 1 or more days, found {days}")
    before = reference_time - timedelta(days=days)
    with closing(db.connect(dsn)) as conn, conn.transaction():
        deleted = db.run_sql_file(conn, "cleanup/validation_results.sql", {"before": before})
    log.info("Deleted %d validation results from before %s (each check's latest kept)", deleted, before.isoformat())
    return {"deleted": deleted, "retention_days": days}
