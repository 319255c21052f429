"""The qualification table's seed (the versioned provider code tables in ``include/seeds``) and its
vocabulary of failure reasons.

Seed rows are (re)written when the seed file changes; rows a user edited (origin ``user``) and rows
the pipeline added for new codes (origin ``auto``, until qualified) are never overwritten. A row's reason
is one of ``sms_tracking.failure_reason`` (migration 0022) with a type that reason allows: the database
refuses any other, naming the allowed values (``include/sql/functions/qualification_reason_check.sql``).
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sms_tracking import resources
from sms_tracking.reports.base import normalise_error_code

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

DELIVERY_STATUS_LABELS = {
    "pending": "Sent",
    "delivered": "Received on mobile",
    "failed": "Failed",
    "cancelled": "Delivery cancelled",
}
"""A message's status code (``qualification.outcome``, ``delivery_log.status``; stable) -> the label Adobe's
delivery log gives it, which the UI and the API show (decision 11): Sent is taken into account by the provider
with no final report yet; Delivery cancelled was never sent and is not an error. The SQL twin, for the BI
views, is the table ``sms_tracking.delivery_status`` (tests/integration/test_rules.py checks they agree)."""
DELIVERY_STATUSES = tuple(DELIVERY_STATUS_LABELS)
"""The codes: one list, for the seed, the overrides, the quality checks and the UI's filter (schema CHECK
constraints: tests/integration/test_rules.py)."""
NOT_YET_SENT = "Not yet sent"
"""Adobe's label for a recipient to deliver that has no message in the send log yet (a delivery without one)."""


def status_label(status: str) -> str:
    """The label of a status code; an unknown code is shown as is."""
    return DELIVERY_STATUS_LABELS.get(status, status)


FAILURE_TYPES = ("Hard", "Soft", "Ignored")
"""The failure types of a failed message, as Adobe's qualification names them (same users as above)."""


@dataclass(frozen=True)
class FailureReason:
    """One of Adobe's failure reasons, as ``sms_tracking.failure_reason`` holds it."""

    reason: str
    adobe_id: int | None
    adobe_name: str
    failure_types: tuple[str, ...]
    """The types a qualification row may give with this reason, in FAILURE_TYPES order."""
    counts_toward_quarantine: bool
    release_rule: str | None
    """``with_errors_release``, ``mailbox_full_release`` or ``denylist``; None when it never counts."""
    description: str


def failure_reasons(conn: psycopg.Connection[Any]) -> list[FailureReason]:
    """The reason vocabulary with the types each allows, in Adobe's id order: the choices a qualification
    page offers and the values an error names."""
    rows = conn.execute(
        """SELECT r.reason, r.adobe_id, r.adobe_name,
                  array_agg(t.failure_type ORDER BY array_position(%s::text[], t.failure_type)),
                  r.counts_toward_quarantine, r.release_rule, r.description
             FROM sms_tracking.failure_reason r
             JOIN sms_tracking.failure_reason_type t USING (reason)
            GROUP BY r.reason
            ORDER BY r.adobe_id NULLS LAST, r.reason""",
        (list(FAILURE_TYPES),),
    ).fetchall()
    return [FailureReason(row[0], row[1], row[2], tuple(row[3]), row[4], row[5], row[6]) for row in rows]


_COLUMNS = (
    "provider",
    "raw_status",
    "error_code",
    "outcome",
    "is_final",
    "failure_type",
    "failure_reason",
    "description",
)


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
            rows.append(
                (
                    row["provider"].strip(),
                    row["raw_status"].strip(),
                    code if code == "*" else normalise_error_code(code),
                    row["outcome"].strip(),
                    row["is_final"].strip().lower() == "true",
                    row["failure_type"].strip() or None,
                    row["failure_reason"].strip() or None,
                    row["description"].strip() or None,
                )
            )
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
            + ", ".join(_COLUMNS)
            + " FROM sms_tracking.qualification WITH NO DATA"
        )
        with conn.cursor() as cur, cur.copy(f"COPY stage_qualification ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for row in read_seed(path):
                copy.write_row(row)
        written = refused_as_value_error(
            path, lambda: db.run_sql_file(conn, "seed/qualification.sql", {"seed_version": version})
        )
    log.info("Qualification seed %s: %d rows written", version, written)
    return written


def refused_as_value_error(path: Path, write: Callable[[], int]) -> int:
    """Run ``write``; a row the table refuses (an unknown reason, a type its reason does not allow) becomes a
    ValueError naming the file, the row and the allowed values."""
    import psycopg

    try:
        return write()
    except psycopg.errors.CheckViolation as exc:
        raise ValueError(f"{path}: {exc.diag.message_primary or exc}") from None
