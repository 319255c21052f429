"""An SMPP receipt with a misspelt field label, through load and build: kept, warned, counted, to qualify."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from tests.landing import run_all

pytestmark = pytest.mark.integration

RECEIPTS = (
    # A1: the error code's label is misspelt; A2: the done date's. Both have their id and status.
    "id:A1 sub:001 dlvrd:000 submit date:2605040800 done date:2605040801 stat:UNDELIV eror:005 text:\n"
    "id:A2 sub:001 dlvrd:001 submit date:2605040800 done dat:2605040802 stat:DELIVRD err:000 text:\n"
    # A3: Appendix B's fields after text: (stat and err), read as if in their place.
    "id:A3 sub:001 dlvrd:000 submit date:2605040800 done date:2605040803 text:Hi stat:UNDELIV err:005\n"
)


def test_misspelt_labels_keep_the_receipt_warn_per_object_and_leave_the_code_to_qualify(
    dsn: str, make_landing: Callable[..., Path]
) -> None:
    make_landing(
        {
            "deliveries/d.csv": "delivery_id,name,content,provider,created_at\nD1,Promo,Hi,smpp,2026-05-04T07:00:00Z\n",
            "sends/s.csv": "delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at\n"
            + "".join(f"D1,r{n},+3361234567{n},smpp,A{n},2026-05-04T08:00:00Z\n" for n in (1, 2, 3)),
            "reports/smpp_main/r.txt": RECEIPTS,
        }
    )
    run_all(dsn, "build", ("campaign", "smpp_main"))

    with psycopg.connect(dsn) as conn:
        assert conn.execute(
            "SELECT provider_message_id, error_code, parse_warning FROM sms_tracking.report ORDER BY 1"
        ).fetchall() == [
            ("A1", "UNREADABLE", "could not read 'eror:005'; missing err"),
            ("A2", "0", "could not read 'dat:2605040802'; missing done date"),
            ("A3", "5", None),
        ]
        assert conn.execute(
            "SELECT rows_loaded, rows_warned, rows_rejected FROM sms_tracking.source_object WHERE source = 'smpp_main'"
        ).fetchone() == (3, 2, 0)
        ((message, details),) = conn.execute(
            "SELECT message, details FROM sms_tracking.audit_event WHERE event = 'reports_with_parse_warnings'"
        ).fetchall()
        assert message.startswith("2 of the 3 reports of smpp_main ")
        assert details["reports_with_parse_warnings"] == 2
        # The unread code is not typed silently by (UNDELIV, *): it has its row, to qualify.
        assert conn.execute(
            "SELECT state, origin, occurrences FROM sms_tracking.qualification"
            " WHERE provider = 'smpp' AND raw_status = 'UNDELIV' AND error_code = 'UNREADABLE'"
        ).fetchone() == ("to_qualify", "auto", 1)
        assert conn.execute(
            "SELECT provider_message_id, status, error_code, failure_type, failure_reason"
            " FROM sms_tracking.delivery_log ORDER BY 1"
        ).fetchall()[::2] == [
            ("A1", "failed", "UNREADABLE", "Soft", "Not defined"),
            ("A3", "failed", "5", "Hard", "User unknown"),
        ]
