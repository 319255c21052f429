"""Two objects holding the same reports, loaded at the same time by two workers (mapped ``load_object`` tasks).

The earliest arrival keeps the rows whichever load commits first, and the objects' counts say so: the later
object's copies are its duplicates. Without the merge lock a later object that committed first kept its
count of rows "loaded" that the earlier one then took over, so the counts differed from run to run.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from tests.landing import write_twilio_landing

from sms_tracking import pipeline

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
REPORTS = 20_000
HEAD_STARTS = (0.0, 0.05, 0.15, 0.3)
"""How much earlier the later-arriving object starts: the race needs its commit to come first."""


def callbacks(status: str) -> list[str]:
    return [f"MessageSid=SMrace{i:06d}&MessageStatus={status}" for i in range(REPORTS)]


@pytest.mark.parametrize("head_start", HEAD_STARTS)
def test_the_earlier_object_keeps_the_reports_and_the_later_counts_them_duplicate(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, head_start: float
) -> None:
    root = tmp_path / "landing"
    lines = callbacks("delivered")
    write_twilio_landing(
        root,
        {},
        {
            "sent.txt": (T0 - timedelta(minutes=10), callbacks("sent")),
            "early.txt": (T0, lines),
            "late.txt": (T0 + timedelta(minutes=10), list(reversed(lines))),
        },
    )
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__LANDING", str(root))
    uris = {Path(uri).name: uri for uri in pipeline.pending_objects("twilio_callbacks", dsn=dsn)}
    # The messages' earlier reports are loaded already, as in a real stream: their messages wait for the build,
    # so the two loads below do not queue one behind the other on the same new pending rows.
    pipeline.load("twilio_callbacks", uris["sent.txt"], dsn=dsn)
    start = threading.Barrier(2)

    def load(name: str, delay: float) -> None:
        start.wait()
        time.sleep(delay)
        pipeline.load("twilio_callbacks", uris[name], dsn=dsn)

    with ThreadPoolExecutor(2) as workers:
        futures = [workers.submit(load, "late.txt", 0.0), workers.submit(load, "early.txt", head_start)]
        for future in futures:
            future.result()

    with psycopg.connect(dsn) as conn:
        counts = dict(
            conn.execute(
                """SELECT split_part(o.uri, '/', -1), (o.rows_loaded, o.rows_duplicate,
                          (SELECT count(*) FROM sms_tracking.report r WHERE r.object_id = o.object_id))::text
                     FROM sms_tracking.source_object o
                    WHERE o.source = 'twilio_callbacks' AND o.uri NOT LIKE '%%sent.txt'"""
            ).fetchall()
        )
    assert counts == {"early.txt": f"({REPORTS},0,{REPORTS})", "late.txt": f"(0,{REPORTS},0)"}
