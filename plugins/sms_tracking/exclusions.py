"""Exclusions at delivery preparation: the control-group draw and the send-list export.

The exclusion rules themselves are set-based SQL (``include/sql/build/prepare.sql``); this module
holds their configuration, the control-group draw in Python (so tests and users can predict it), and
the export of each prepared send list as CSV to the landing location (docs/exclusions.md).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

SEND_LISTS_FOLDER = "send_lists"
WRITE_BLOCK = 1 << 20
SEND_LIST_COLUMNS = ("delivery_id", "recipient_id", "phone_e164", "flag")


@dataclass(frozen=True)
class ExclusionConfig:
    """Preparation settings; the control group is off by default, as in Adobe."""

    control_group_percent: float = 0.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ExclusionConfig:
        env = os.environ if environ is None else environ
        name = "SMS_TRACKING_CONTROL_GROUP_PERCENT"
        value = env.get(name) or "0"
        try:
            percent = float(value)
        except ValueError:
            raise ValueError(f"{name}: expected a percentage between 0 and 100, found {value!r}") from None
        if not 0 <= percent <= 100:
            raise ValueError(f"{name}: expected a percentage between 0 and 100, found {value!r}")
        return cls(control_group_percent=percent)

    @property
    def basis_points(self) -> int:
        """The share in 1/10000, an integer so that SQL and Python round it the same way."""
        return round(self.control_group_percent * 100)

    def sql_params(self) -> dict[str, Any]:
        return {"control_group_basis_points": self.basis_points}


def in_control_group(delivery_id: str, recipient_id: str, basis_points: int) -> bool:
    """The draw prepare.sql makes: the first 32 bits of md5("<delivery>/<recipient>") modulo 10000."""
    digest = hashlib.md5(f"{delivery_id}/{recipient_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:8], 16) % 10000 < basis_points


def send_list_name(delivery_id: str) -> str:
    """The file name of a delivery's send list; the id is percent-encoded so it cannot leave the folder."""
    return f"{quote(delivery_id, safe='-_.')}.csv"


def export_send_lists(conn: psycopg.Connection[Any], landing: str) -> list[str]:
    """Write ``send_lists/<delivery_id>.csv`` for each delivery prepared since the last export.

    COPY streams the rows to the file in blocks; the file is written under a hidden name and renamed,
    so a reader never sees half a list. A delivery leaves the queue only once its file is written, and
    its queue row is locked while it is written, so a concurrent export skips it.
    """
    from sms_tracking.ingest import landing_path

    written: list[str] = []
    folder = landing_path(landing, SEND_LISTS_FOLDER)
    pending = [row[0] for row in conn.execute(
        "SELECT delivery_id FROM sms_tracking.pending_export ORDER BY delivery_id").fetchall()]
    conn.commit()
    if pending:
        folder.mkdir(parents=True, exist_ok=True)
    for delivery_id in pending:
        clock = time.monotonic()
        name = send_list_name(delivery_id)
        target = folder / name
        partial = folder / f".{name}.part"
        size = 0
        with conn.transaction():
            # Two builds may export at once (the export runs after the prepare step's locked transaction):
            # the queue row, locked until the file is in place, gives each list one writer.
            if conn.execute("SELECT FROM sms_tracking.pending_export WHERE delivery_id = %s FOR UPDATE SKIP LOCKED",
                            (delivery_id,)).fetchone() is None:
                continue  # exported by another build meanwhile, or being exported by it now
            with partial.open("wb") as out, conn.cursor() as cur, cur.copy(
                f"COPY (SELECT {', '.join(SEND_LIST_COLUMNS)} FROM sms_tracking.send_list WHERE delivery_id = %s"
                " ORDER BY recipient_id COLLATE \"C\") TO STDOUT WITH (FORMAT csv, HEADER)",
                (delivery_id,),
            ) as copy:
                buffer = bytearray()
                for row in copy:  # one COPY message per row: write in blocks
                    buffer += row
                    if len(buffer) >= WRITE_BLOCK:
                        out.write(buffer)
                        size += len(buffer)
                        buffer.clear()
                out.write(buffer)
                size += len(buffer)
            partial.rename(target)
            conn.execute("DELETE FROM sms_tracking.pending_export WHERE delivery_id = %s", (delivery_id,))
        written.append(str(target))
        log.info("Send list of %s: %d bytes to %s in %.2fs", delivery_id, size, target, time.monotonic() - clock)
    return written
