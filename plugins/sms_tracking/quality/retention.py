"""How long validation results are kept."""

from __future__ import annotations

import logging
from contextlib import closing
from datetime import datetime, timedelta

from sms_tracking import db

log = logging.getLogger(__name__)


def purge_results(reference_time: datetime, dsn: str | None = None) -> dict[str, int]:
    """Delete validation results older than the ``validation_retention_days`` option at
    ``reference_time`` (the cleanup run's data interval end), keeping each check's latest."""
    from sms_tracking.settings import get_settings

    days = get_settings().validation_retention_days
    before = reference_time - timedelta(days=days)
    with closing(db.connect(dsn)) as conn, conn.transaction():
        deleted = db.run_sql_file(conn, "cleanup/validation_results.sql", {"before": before})
    log.info("Deleted %d validation results from before %s (each check's latest kept)", deleted, before.isoformat())
    return {"deleted": deleted, "retention_days": days}
