"""Exclusions at delivery preparation: the control-group draw and the send-list export.

The exclusion rules themselves are set-based SQL (``include/sql/build/prepare.sql``); this module
holds their configuration, the control-group draw in Python (so tests and users can predict it), and
the export of each prepared send list as CSV to the landing location (docs/exclusions.md).
"""

from __future__ import annotations

import hashlib
import logging
import time
from itertools import islice
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import psycopg

    from sms_tracking.settings import Settings

log = logging.getLogger(__name__)

SEND_LISTS_FOLDER = "send_lists"
WRITE_ROWS = 20_000
"""Rows of a send list written at once (about 1 MB)."""
EXPORT_BATCH = 500
"""Deliveries whose send lists one transaction exports."""
SEND_LIST_COLUMNS = ("delivery_id", "recipient_id", "phone_e164", "flag")


def basis_points(percent: float) -> int:
    """The control group's share in 1/10000, an integer so that SQL and Python round it the same way."""
    return round(percent * 100)


def control_group_params(settings: Settings) -> dict[str, Any]:
    """The preparation's parameter: the control group is off by default, as in Adobe."""
    return {"control_group_basis_points": basis_points(settings.control_group_percent)}


REASONS = ("Address empty", "Invalid number", "Duplicate", "Quarantined", "Denylisted", "Control group")
"""Why a target is excluded (prepare.sql's decision; the schema's CHECK constraint: tests/integration/test_rules.py)."""


def in_control_group(delivery_id: str, recipient_id: str, basis_points: int) -> bool:
    """The draw prepare.sql makes (``sms_tracking.control_group_draw``, include/sql/functions), for users to predict it:
    the first 32 bits of md5("<delivery>/<recipient>") modulo 10000 (tests/integration/test_rules.py)."""
    digest = hashlib.md5(f"{delivery_id}/{recipient_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:8], 16) % 10000 < basis_points


def send_list_name(delivery_id: str) -> str:
    """The file name of a delivery's send list; the id is percent-encoded so it cannot leave the folder."""
    return f"{quote(delivery_id, safe='-_.')}.csv"


def export_send_lists(conn: psycopg.Connection[Any], landing: str) -> list[str]:
    """Write ``send_lists/<delivery_id>.csv`` for each delivery prepared since the last export.

    A batch of queued deliveries is locked (``FOR UPDATE SKIP LOCKED``: a concurrent export takes other
    ones), then one COPY streams all their lists, in delivery order, and each delivery's row count says
    where its file ends: one query per batch, not per delivery (5,000 lists: 14 s one by one). Each file
    is written under a hidden name and renamed, so a reader never sees half a list; the deliveries leave
    the queue when their batch's files are in place. A batch that fails leaves its deliveries queued, and
    the next export rewrites their files with the same content.
    """
    folder = None  # the landing location, opened once there is a list to write (Airflow's import is slow)
    written: list[str] = []
    while True:
        clock = time.monotonic()
        with conn.transaction():
            batch = [
                row[0]
                for row in conn.execute(
                    'SELECT delivery_id FROM sms_tracking.pending_export ORDER BY delivery_id COLLATE "C"'
                    " LIMIT %s FOR UPDATE SKIP LOCKED",
                    (EXPORT_BATCH,),
                ).fetchall()
            ]
            if not batch:
                break
            if folder is None:
                from sms_tracking.ingest import landing_path

                folder = landing_path(landing, SEND_LISTS_FOLDER)
                folder.mkdir(parents=True, exist_ok=True)
            files = _write_batch(conn, folder, batch)
            conn.execute("DELETE FROM sms_tracking.pending_export WHERE delivery_id = ANY(%s)", (batch,))
        written.extend(str(target) for target, _ in files)
        log.info(
            "Send lists of %d deliveries (%s to %s): %d bytes in %.2fs",
            len(batch),
            batch[0],
            batch[-1],
            sum(size for _, size in files),
            time.monotonic() - clock,
        )
    return written


def _write_batch(conn: psycopg.Connection[Any], folder: Any, batch: list[str]) -> list[tuple[Any, int]]:
    """The send lists of ``batch`` (sorted as the COPY sorts them) from one COPY; returns (file, bytes)."""
    counts = dict(
        conn.execute(
            "SELECT delivery_id, count(*) FROM sms_tracking.send_list WHERE delivery_id = ANY(%s) GROUP BY 1", (batch,)
        ).fetchall()
    )
    files: list[tuple[Any, int]] = []
    with (
        conn.cursor() as cur,
        cur.copy(
            f"COPY (SELECT {', '.join(SEND_LIST_COLUMNS)} FROM sms_tracking.send_list WHERE delivery_id = ANY(%s)"
            ' ORDER BY delivery_id COLLATE "C", recipient_id COLLATE "C") TO STDOUT WITH (FORMAT csv, HEADER)',
            (batch,),
        ) as copy,
    ):
        rows = iter(copy)  # one COPY message per row, the header first
        header = bytes(next(rows))
        for delivery_id in batch:
            name = send_list_name(delivery_id)
            target, partial = folder / name, folder / f".{name}.part"
            left = counts.get(delivery_id, 0)
            with partial.open("wb") as out:
                out.write(header)
                size = len(header)
                while left:
                    # Joined in C a block at a time: a Python statement per row cost 1 s of a 1M export.
                    block = list(islice(rows, min(left, WRITE_ROWS)))
                    if len(block) < min(left, WRITE_ROWS):
                        raise RuntimeError("send lists changed during their export (fewer rows than counted)")
                    data = b"".join(block)
                    out.write(data)
                    size += len(data)
                    left -= len(block)
            partial.rename(target)
            files.append((target, size))
        if next(rows, None) is not None:
            raise RuntimeError("send lists changed during their export (more rows than counted)")
    return files
