"""The qualification table's seed: the versioned provider code tables in ``include/seeds``.

Seed rows are (re)written when the seed file changes; rows a user edited (origin ``user``) and rows
the pipeline added for new codes (origin ``auto``, until qualified) are never overwritten.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sms_tracking import resources
from sms_tracking.reports.base import normalise_error_code

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

DELIVERY_STATUSES = ("pending", "delivered", "failed")
"""A message's outcome (``qualification.outcome``, ``delivery_log.status``): one list, for the seed, the
overrides, the quality checks and the UI's filter (schema CHECK constraints: tests/integration/test_rules.py)."""
FAILURE_TYPES = ("Hard", "Soft", "Ignored")
"""The failure types of a failed message, as Adobe's qualification names them (same users as above)."""

_COLUMNS = ("provider", "raw_status", "error_code", "outcome", "is_final", "failure_type", "failure_reason",
            "description")


def seed_file() -> Path:
    """The versioned qualification seed shipped with the package."""
    return resources.seeds_dir() / "qualification.csv"


def read_seed(path: Path | None = None) -> list[tuple[Any, ...]]:
    """Rows of the seed file, with error codes normalised the way reports are."""
    path = path or seed_file()
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            code = row["error_code"].strip()
            rows.append((
                row["provider"].strip(),
                row["raw_status"].strip(),
                code if code == "*" else normalise_error_code(code),
                row["outcome"].strip(),
                row["is_final"].strip().lower() == "true",
                row["failure_type"].strip() or None,
                row["failure_reason"].strip() or None,
                row["description"].strip() or None,
            ))
    return rows


def sync_seed(conn: psycopg.Connection[Any], path: Path | None = None) -> int:
    """Upsert the seed into the qualification table; returns the number of rows written."""
    from sms_tracking import db

    path = path or seed_file()
    version = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    with conn.transaction():
        current = conn.execute(
            "SELECT count(*) FROM sms_tracking.qualification WHERE origin = 'seed' AND seed_version = %s", (version,)
        ).fetchone()
        if current and current[0]:
            return 0
        conn.execute(
            "CREATE TEMP TABLE stage_qualification ON COMMIT DROP AS SELECT "
            + ", ".join(_COLUMNS) + " FROM sms_tracking.qualification WITH NO DATA"
        )
        with conn.cursor() as cur, cur.copy(f"COPY stage_qualification ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for row in read_seed(path):
                copy.write_row(row)
        written = db.run_sql_file(conn, "seed/qualification.sql", {"seed_version": version})
    log.info("Qualification seed %s: %d rows written", version, written)
    return written
