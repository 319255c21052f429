"""Time rules (issue #8): zone-less SMPP dates, RFC 2822 and ISO-8601 offsets, daylight-saving transitions,
reports dated before their submission or in the future, late reports; everything stored as UTC timestamptz."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from tests.integration.test_pipeline import landing, log_rows, snapshot
from tests.landing import config_file, run_all, write

from sms_tracking.reports.base import parse_compact_date
from sms_tracking.reports.smpp import parse_receipt_date
from sms_tracking.reports.twilio import _parse_date_text

__all__ = ["landing"]
pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "zone", "expected"),
    [
        ("2605041012", "Europe/Paris", "2026-05-04 08:12:00"),  # YYMMDDhhmm, summer time (+02)
        ("260504101230", "Europe/Paris", "2026-05-04 08:12:30"),  # YYMMDDhhmmss
        ("20260504101230", "Europe/Paris", "2026-05-04 08:12:30"),  # YYYYMMDDhhmmss
        ("202605041012", "Europe/Paris", "2026-05-04 08:12:00"),  # YYYYMMDDhhmm (not a valid YYMMDDhhmmss)
        ("2601151012", "Europe/Paris", "2026-01-15 09:12:00"),  # winter time (+01)
        ("2605041012", "UTC", "2026-05-04 10:12:00"),  # the source's zone decides
        ("2605041012", "America/New_York", "2026-05-04 14:12:00"),
        ("2603290230", "Europe/Paris", "2026-03-29 01:30:00"),  # spring gap: read with the offset before (+01)
        ("2610250230", "Europe/Paris", "2026-10-25 00:30:00"),  # autumn overlap: the first 02:30 (+02)
        ("2610250330", "Europe/Paris", "2026-10-25 02:30:00"),  # after the overlap (+01)
    ],
)
def test_zoneless_smpp_dates_are_read_in_the_source_zone_and_stored_in_utc(
    value: str, zone: str, expected: str
) -> None:
    assert parse_receipt_date(value, ZoneInfo(zone)) == utc(expected)


@pytest.mark.parametrize("value", ["26050410", "2613041012", "2605041072", "26-05-04 10:12", "260504101", "x"])
def test_malformed_smpp_dates_raise_so_the_line_is_rejected(value: str) -> None:
    with pytest.raises(ValueError, match=r"date|data"):
        parse_receipt_date(value, PARIS)


def test_absent_smpp_date_is_none() -> None:
    assert parse_compact_date("", PARIS) is None and parse_compact_date(None, PARIS) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 04 May 2026 10:12:00 +0200", "2026-05-04 08:12:00"),  # RFC 2822 (Twilio REST)
        ("Mon, 04 May 2026 08:12:00 GMT", "2026-05-04 08:12:00"),
        ("Mon, 04 May 2026 03:12:00 -0500", "2026-05-04 08:12:00"),
        ("2026-05-04T10:12:00+02:00", "2026-05-04 08:12:00"),  # ISO-8601 with an offset
        ("2026-05-04T08:12:00Z", "2026-05-04 08:12:00"),
        ("2026-05-04T10:12:00", "2026-05-04 08:12:00"),  # no offset: the source's zone (Paris here)
        ("2026-05-04 08:12:00.000000 UTC", "2026-05-04 08:12:00"),  # Fivetran
    ],
)
def test_rfc2822_and_iso8601_dates_keep_their_offset(value: str, expected: str) -> None:
    assert _parse_date_text(value, PARIS) == utc(expected)


def test_every_timestamp_column_is_timestamptz(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        naive = conn.execute(
            "SELECT table_name || '.' || column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) WHERE table_schema = 'sms_tracking' "
            "AND t.table_type = 'BASE TABLE' AND data_type = 'timestamp without time zone'"
        ).fetchall()
    assert naive == []


def done_at(dsn: str, message_id: str) -> tuple[datetime | None, datetime]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT done_at, submitted_at FROM sms_tracking.delivery_log WHERE provider_message_id = %s", (message_id,)
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def test_source_zone_is_configurable_per_source(
    dsn: str, landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = (
        "sources:\n  - {name: smpp_main, provider: smpp, format: smpp, path: reports/smpp_main, tz: Asia/Tokyo}\n"
        "  - {name: twilio_callbacks, provider: twilio, format: twilio_callback, path: reports/twilio_callbacks}\n"
        "  - {name: twilio_api, provider: twilio, format: twilio_json, path: reports/twilio_api}\n"
    )
    config_file(monkeypatch, tmp_path / "sources.yaml", "sources", sources)
    run_all(dsn)
    # 10:12 in Tokyo (+09) instead of Paris (+02). That is before A1's submission (08:00Z), so the delivery
    # log times it by its arrival and keeps the date read in Tokyo as the reported one.
    with psycopg.connect(dsn) as conn:
        events = conn.execute("SELECT event_at FROM sms_tracking.report WHERE provider_message_id = 'A1'").fetchall()
    assert (utc("2026-05-04 01:12:00"),) in events
    assert arrival_and_reported(dsn, "A1")[1] == utc("2026-05-04 01:12:00")


def arrival_and_reported(dsn: str, message_id: str) -> tuple[datetime, datetime | None]:
    """The deciding report's arrival time and the date it gave when that date was not believed."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT r.received_at, l.reported_done_at FROM sms_tracking.delivery_log l "
            "JOIN sms_tracking.report r USING (report_id) WHERE l.provider_message_id = %s",
            (message_id,),
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def validation_audit(dsn: str, delivery_id: str) -> dict[str, object]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT details FROM sms_tracking.audit_event WHERE delivery_id = %s AND event = 'validation' "
            "ORDER BY at DESC LIMIT 1",
            (delivery_id,),
        ).fetchone()
    assert row is not None
    return dict(row[0])


def test_report_dated_before_its_submission_is_timed_by_its_arrival(dsn: str, landing: Path) -> None:
    # Submitted 08:00:02Z; done 09:50 Paris = 07:50Z, ten minutes earlier (a clock skew at the provider),
    # beyond AIRFLOW__SMS_TRACKING__CLOCK_SKEW (2 min): the status holds, the date is replaced by the arrival.
    # The file arrived at 08:30Z, with its data (not a backfill: see the year-old folder below).
    write(
        landing,
        "reports/smpp_main/r2.txt",
        "id:A3 sub:001 dlvrd:001 submit date:2605040950 done date:2605040950 stat:DELIVRD err:000 text:x\n",
    )
    os.utime(landing / "reports/smpp_main/r2.txt", (utc("2026-05-04 08:30:00").timestamp(),) * 2)
    run_all(dsn)
    done, submitted = done_at(dsn, "A3")
    arrived, reported = arrival_and_reported(dsn, "A3")
    assert log_rows(dsn)["A3"][0] == "delivered"
    assert submitted == utc("2026-05-04 08:00:02")
    assert done == arrived == utc("2026-05-04 08:30:00")
    assert reported == utc("2026-05-04 07:50:00")  # what the provider said is kept
    assert validation_audit(dsn, "D1")["reports_before_submit"] == 1


def test_report_dated_within_the_clock_skew_before_submission_keeps_its_date(
    dsn: str, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__CLOCK_SKEW", "15m")
    write(
        landing,
        "reports/smpp_main/r2.txt",
        "id:A3 sub:001 dlvrd:001 submit date:2605040950 done date:2605040950 stat:DELIVRD err:000 text:x\n",
    )
    run_all(dsn)
    assert done_at(dsn, "A3")[0] == utc("2026-05-04 07:50:00")
    assert arrival_and_reported(dsn, "A3")[1] is None


def test_report_dated_in_the_future_is_timed_by_its_arrival(dsn: str, landing: Path) -> None:
    write(
        landing,
        "reports/smpp_main/r2.txt",
        "id:A2 sub:001 dlvrd:001 submit date:2605041000 done date:3005041000 stat:DELIVRD err:000 text:x\n",
    )
    run_all(dsn)
    arrived, reported = arrival_and_reported(dsn, "A2")
    # It arrived after the UNDELIV dated 2026-05-04, so it is the latest final: delivered, at its arrival.
    assert log_rows(dsn)["A2"][0] == "delivered"
    assert done_at(dsn, "A2")[0] == arrived < datetime.now(UTC)
    assert reported == utc("2030-05-04 08:00:00")
    assert validation_audit(dsn, "D1")["reports_in_future"] == 1


def test_late_report_seven_days_after_send_updates_log_and_summary(dsn: str, landing: Path) -> None:
    run_all(dsn)
    assert log_rows(dsn)["A3"][0] == "pending"
    before = {row[0]: row[1:] for row in snapshot(dsn)["summary"]}
    assert before["D1"][:4] == (4, 2, 1, 1)  # sent, delivered, failed, pending
    write(
        landing,
        "reports/smpp_main/late.txt",
        "id:A3 sub:001 dlvrd:001 submit date:2605041000 done date:2605110959 stat:DELIVRD err:000 text:x\n",
    )
    run_all(dsn)
    assert log_rows(dsn)["A3"][0] == "delivered"
    assert done_at(dsn, "A3")[0] == utc("2026-05-11 07:59:00")
    after = {row[0]: row[1:] for row in snapshot(dsn)["summary"]}
    assert after["D1"][:4] == (4, 3, 1, 0)
    assert after["D2"] == before["D2"]


def test_a_year_old_landing_folder_keeps_its_own_times(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backfill: files of a year ago copied into the landing folder today (their arrival is now).

    The clock-skew rule would re-time a report dated before its submission, and a report without a date,
    by that arrival: a year-long latency. Judged against the object's own time (the latest date its
    reports carry, a year ago), the arrival is a backfill's: the first takes its submission time, the
    second the object's own time, and the latencies stay what they were.
    """
    day = (datetime.now(UTC) - timedelta(days=365)).strftime("%Y-%m-%d")
    submitted = datetime.fromisoformat(f"{day}T08:00:00+00:00")

    def smpp(minutes: int) -> str:  # smpp_main's dates are Paris time
        return (submitted + timedelta(minutes=minutes)).astimezone(PARIS).strftime("%y%m%d%H%M")

    root = tmp_path / "landing"
    write(root, "deliveries/d.csv", f"delivery_id,name,content,provider,created_at\nD1,Old,Hi,smpp,{day}T07:00:00Z\n")
    write(
        root,
        "sends/s.csv",
        "delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at\n"
        + "".join(f"D1,r{n},+3361234567{n},smpp,B{n},{day}T08:00:00Z\n" for n in (1, 2, 3)),
    )
    write(
        root,
        "reports/smpp_main/old.txt",
        f"id:B1 sub:001 dlvrd:001 submit date:{smpp(0)} done date:{smpp(5)} stat:DELIVRD err:000 text:x\n"
        # ten minutes before its submission: a clock skew at the provider
        f"id:B2 sub:001 dlvrd:000 submit date:{smpp(-10)} done date:{smpp(-10)} stat:UNDELIV err:001 text:x\n"
        "id:B3 stat:DELIVRD err:000\n",
    )  # no date of its own
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__LANDING", str(root))
    run_all(dsn)
    with psycopg.connect(dsn) as conn:
        done = dict(conn.execute("SELECT provider_message_id, done_at FROM sms_tracking.delivery_log").fetchall())
        latency = conn.execute("SELECT latency_max_s FROM sms_tracking.daily_provider").fetchall()
    assert done == {"B1": submitted + timedelta(minutes=5), "B2": submitted, "B3": submitted + timedelta(minutes=5)}
    assert latency == [(300.0,)]
