"""Rules written once in Python and once in the schema or SQL agree (issue 15: one place for each rule).

The status lists are the schema's CHECK constraints; the control-group draw is one SQL function with a
Python copy for users; the success rate is one SQL function; the UI's sessions take the pipeline's settings.
"""

from __future__ import annotations

import re
from fractions import Fraction

import psycopg
import pytest

from sms_tracking import exclusions, quarantine
from sms_tracking.exclusions import in_control_group
from sms_tracking.qualification import DELIVERY_STATUS_LABELS, DELIVERY_STATUSES, FAILURE_TYPES
from sms_tracking.ui import params


def allowed(dsn: str, table: str, column: str) -> set[str]:
    """The values a CHECK constraint of the table allows in the column."""
    with psycopg.connect(dsn) as conn:
        found = conn.execute(
            """SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
                WHERE c.conrelid = ('sms_tracking.' || %s)::regclass AND c.contype = 'c'""",
            (table,),
        ).fetchall()
    for (definition,) in found:
        if re.match(rf"CHECK \(+{column} = ANY", definition):
            return set(re.findall(r"'([^']+)'::text", definition))
    raise AssertionError(f"no CHECK of {table}.{column}")


def test_status_lists_are_the_schemas(dsn: str) -> None:
    assert allowed(dsn, "qualification", "outcome") == set(DELIVERY_STATUSES)
    assert allowed(dsn, "delivery_log", "status") == set(DELIVERY_STATUSES)
    assert allowed(dsn, "qualification", "failure_type") == set(FAILURE_TYPES)
    assert allowed(dsn, "exclusion", "reason") == set(exclusions.REASONS)
    assert allowed(dsn, "quarantine", "status") == set(quarantine.STATUSES)


def test_status_labels_are_the_sql_table(dsn: str) -> None:
    """One label per code, Adobe's (decision 11): Python's map and the table the BI views read agree."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT status, label FROM sms_tracking.delivery_status ORDER BY position").fetchall()
    assert dict(rows) == DELIVERY_STATUS_LABELS
    assert [code for code, _ in rows] == list(DELIVERY_STATUSES)
    assert DELIVERY_STATUS_LABELS == {
        "pending": "Sent",
        "delivered": "Received on mobile",
        "failed": "Failed",
        "cancelled": "Delivery cancelled",
    }


def test_ui_filters_offer_the_same_lists() -> None:
    assert params.LogStatus.__args__ == DELIVERY_STATUSES  # type: ignore[attr-defined]
    assert params.FailureType.__args__ == FAILURE_TYPES  # type: ignore[attr-defined]
    assert params.QUARANTINE_STATUSES == quarantine.STATUSES


def test_control_group_draw_in_python_is_the_sql_function(dsn: str) -> None:
    pairs = [(f"D{d}", f"r{r}") for d in range(5) for r in range(400)] + [("Dé", "ré/1"), ("", "")]
    with psycopg.connect(dsn) as conn:
        draws = conn.execute(
            "SELECT d, r, sms_tracking.control_group_draw(d, r) FROM unnest(%s::text[], %s::text[]) AS p(d, r)",
            ([d for d, _ in pairs], [r for _, r in pairs]),
        ).fetchall()
    for delivery_id, recipient_id, draw in draws:
        assert in_control_group(delivery_id, recipient_id, draw + 1), (delivery_id, recipient_id)
        assert not in_control_group(delivery_id, recipient_id, draw), (delivery_id, recipient_id)


@pytest.mark.parametrize(("success", "sent"), [(3, 4), (2, 3), (1, 7), (0, 5), (5, 5), (0, 0), (1, 1_000_001)])
def test_success_rate_is_success_over_sent_to_six_decimals(dsn: str, success: int, sent: int) -> None:
    with psycopg.connect(dsn) as conn:
        (rate,) = conn.execute("SELECT sms_tracking.success_rate(%s, %s)", (success, sent)).fetchone()  # type: ignore[misc]
    expected = None if sent == 0 else int(Fraction(success, sent) * 1_000_000 + Fraction(1, 2)) / 1_000_000
    assert (float(rate) if rate is not None else None) == expected


def test_ui_sessions_take_the_pipelines_work_mem(dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sms_tracking.ui.queries import open_reader

    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__WORK_MEM", "96MB")
    with open_reader() as reader:
        (work_mem,) = reader.conn.execute("SHOW work_mem").fetchone()  # type: ignore[misc]
    assert work_mem == "96MB"
