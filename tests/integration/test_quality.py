"""Data-quality validation on a real Postgres: a clean run is green, each corruption fails its check.

Each test loads a small landing whose times are relative to now (so nothing is stale, stuck or in the
future), runs the build under a run id, corrupts what the issue lists, and validates that run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg.rows import dict_row
from tests.landing import run_all, write_all

from sms_tracking import quality
from sms_tracking.errors import SettingsError
from sms_tracking.quality import SUITES, Check, Suite, ValidationFailed, check_ids, e164

pytestmark = pytest.mark.integration

RUN = "manual__2026-11-26T12:00:00+00:00"
PARIS = ZoneInfo("Europe/Paris")
SOURCES = """sources:
  - {name: smpp_main, provider: smpp, format: smpp, path: reports/smpp_main, tz: Europe/Paris}
  - {name: twilio_callbacks, provider: twilio, format: twilio_callback, path: reports/twilio_callbacks}
"""


def smpp(message_id: str, status: str, error: str, done: datetime) -> str:
    """An SMPP receipt; its dates are Paris wall time, to the minute, as the source's SMSC writes them."""
    stamp = done.astimezone(PARIS).strftime("%y%m%d%H%M")
    return (
        f"id:{message_id} sub:001 dlvrd:000 submit date:{stamp} done date:{stamp} stat:{status} "
        f"err:{error} text:Sale today\n"
    )


def twilio(sid: str, status: str, done: datetime, error: str = "") -> str:
    code = f"&ErrorCode={error}" if error else ""
    return f"MessageSid={sid}&MessageStatus={status}{code}&To=%2B15550199&RawDlrDoneDate={done:%y%m%d%H%M}\n"


class Landing:
    """The landing folder of one test: deliveries, targets, sends, clicks, inbound and two report sources."""

    def __init__(self, root: Path, t0: datetime):
        self.root, self.t0 = root, t0
        iso = lambda minutes: (t0 + timedelta(minutes=minutes)).isoformat()  # noqa: E731
        self.files = {
            "deliveries/deliveries.csv": (
                "delivery_id,name,sender,content,provider,created_at,scheduled_at,is_proof\n"
                f"D1,Spring sale,SHOP,Sale today,smpp,{iso(-10)},,false\n"
                f"D2,Twilio promo,+15550100,Hello,twilio,{iso(-10)},,false\n"
            ),
            "targets/targets.csv": "delivery_id,recipient_id,phone\n"
            + "".join(f"{d},{r},{p}\n" for d, r, p in self.recipients()),
            "sends/sends.csv": "delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at,segments\n"
            + "".join(self.send(d, r, p, m, 0) for (d, r, p), m in zip(self.recipients(), self.MESSAGES, strict=True)),
            "clicks/clicks.csv": f"delivery_id,recipient_id,url,clicked_at\nD1,r1,https://shop.example.com/s,{iso(20)}\n",
            "inbound/inbound.csv": f"provider,phone,text,received_at\nsmpp,+33612345678,STOP,{iso(30)}\n",
            "reports/smpp_main/r1.txt": (
                smpp("A1", "DELIVRD", "000", t0 + timedelta(minutes=12))
                + smpp("A2", "UNDELIV", "005", t0 + timedelta(minutes=5))
                + smpp("A3", "ENROUTE", "000", t0 + timedelta(minutes=2))
                + smpp("A4", "DELIVRD", "000", t0 + timedelta(minutes=63))
            ),
            "reports/twilio_callbacks/c1.txt": (
                twilio("SM1", "undelivered", t0 + timedelta(minutes=5), error="30005")
                + twilio("SM2", "delivered", t0 + timedelta(minutes=3))
            ),
        }

    MESSAGES = ("A1", "A2", "A3", "A4", "SM1", "SM2")

    @staticmethod
    def recipients() -> list[tuple[str, str, str]]:
        """D1's four SMPP recipients on consecutive French numbers, then D2's two on Twilio."""
        return [("D1", f"r{n}", f"+336123456{77 + n}") for n in range(1, 5)] + [
            ("D2", "r5", "+15550199"),
            ("D2", "r6", "+15550198"),
        ]

    def send(self, delivery: str, recipient: str, phone: str, message_id: str, minutes: float) -> str:
        provider = "smpp" if delivery == "D1" else "twilio"
        submitted = (self.t0 + timedelta(minutes=minutes)).isoformat()
        return f"{delivery},{recipient},{phone},{provider},{message_id},{submitted},1\n"

    def write(self) -> None:
        write_all(self.root, self.files)


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_landing: Callable[..., Path]) -> Landing:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__DATA_DOCS", str(tmp_path / "data_docs"))
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    return Landing(make_landing(sources=SOURCES), t0)


def build(dsn: str, landing: Landing, run_id: str = RUN) -> None:
    landing.write()
    run_all(dsn, run_id, ("campaign", "smpp_main", "twilio_callbacks"))


def execute(dsn: str, *statements: str) -> None:
    with psycopg.connect(dsn) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def results(dsn: str, run_id: str = RUN) -> dict[str, dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        rows = conn.execute("SELECT * FROM sms_tracking.validation_result WHERE run_id = %s", (run_id,)).fetchall()
    return {f"{row['suite']}.{row['expectation']}": row for row in rows}


def fails_with(dsn: str, **kwargs: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as raised:
        quality.validate_run(RUN, dsn=dsn, docs=False, **kwargs)
    return raised.value


def test_clean_run_validates_green_and_builds_data_docs(dsn: str, landing: Landing, tmp_path: Path) -> None:
    build(dsn, landing)
    started, cpu = time.monotonic(), time.process_time()
    summary = quality.validate_run(RUN, dsn=dsn)
    print(f"clean validation: {time.monotonic() - started:.1f}s, {time.process_time() - cpu:.1f}s of CPU")
    assert summary["failed_critical"] == [] and summary["failed_warning"] == [] and summary["skipped"] == []
    assert summary["objects"] == 7 and summary["deliveries"] == 2
    stored = results(dsn)
    assert sorted(stored) == sorted(check_ids())
    assert all(row["success"] is True for row in stored.values())
    assert stored["report.status_known"]["element_count"] == 6
    assert stored["delivery_log.done_after_submit"]["element_count"] == 6
    assert stored["delivery_summary.agrees_with_delivery_log"]["element_count"] == 2
    assert stored["stuck_messages.final_status_in_time"]["element_count"] == 1  # A3, en route for 2 hours
    assert stored["source_freshness.fresh"]["element_count"] == 3
    assert stored["delivery_log.key_unique"]["critical"] is True
    index = tmp_path / "data_docs" / "index.html"
    assert index.exists() and "delivery_log" in index.read_text()
    assert not list((tmp_path).glob(".data_docs.*")), "the build folder was swapped in"
    with psycopg.connect(dsn) as conn:
        left = conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'sms_tracking_work'::regnamespace")
        assert left.fetchone() == (0,), "the scratch tables and views are dropped"


def test_scratch_tables_and_views_a_killed_validation_left_are_dropped_a_day_later(dsn: str) -> None:
    from sms_tracking.quality.rows import drop_stale_work_tables

    now = datetime.now(UTC)
    old, recent = int((now - timedelta(days=1, minutes=1)).timestamp()), int(now.timestamp())
    execute(
        dsn,
        f"CREATE TABLE sms_tracking_work.v{old}_x_report (n int)",
        f"CREATE VIEW sms_tracking_work.v{old}_x_message AS SELECT * FROM sms_tracking.message",
        f"CREATE VIEW sms_tracking_work.v{recent}_y_message AS SELECT * FROM sms_tracking.message",
    )
    with psycopg.connect(dsn) as conn:
        drop_stale_work_tables(conn, now)
        conn.commit()
        left = conn.execute("SELECT relname FROM pg_class WHERE relnamespace = 'sms_tracking_work'::regnamespace")
        assert [row[0] for row in left] == [f"v{recent}_y_message"]


def test_duplicate_message_fails_the_send_log_key(dsn: str, landing: Landing) -> None:
    build(dsn, landing)
    # The primary key keeps duplicates out today; a partitioned send log would not have one.
    execute(
        dsn,
        "ALTER TABLE sms_tracking.message DROP CONSTRAINT message_pkey",
        "INSERT INTO sms_tracking.message SELECT * FROM sms_tracking.message WHERE provider_message_id = 'A2'",
    )
    failed = fails_with(dsn)
    assert [r.id for r in failed.failures] == ["message.key_unique"]
    text = str(failed)
    assert "sms_tracking.message: message.key_unique failed" in text
    assert "2 of 7 rows unexpected; sample rows: provider=smpp provider_message_id=A2" in text
    row = results(dsn)["message.key_unique"]
    assert (row["success"], row["critical"], row["unexpected_count"]) == (False, True, 2)
    assert row["unexpected_sample"][0] == {"provider": "smpp", "provider_message_id": "A2"}


def test_duplicate_reports_with_no_error_code_fail_the_natural_key(dsn: str, landing: Landing) -> None:
    """NULLs compare equal in the natural key, as in report_natural_key (coalesce): GX's own compound
    uniqueness joined on '=' and never saw two delivered reports (no error code) of the same event."""
    build(dsn, landing)
    execute(
        dsn,
        "DROP INDEX sms_tracking.report_natural_key",
        "INSERT INTO sms_tracking.report (provider, provider_message_id, raw_status, error_code, event_at, "
        "received_at, raw_text, object_id, position) SELECT provider, provider_message_id, raw_status, NULL, "
        "event_at, received_at, raw_text, object_id, position + 1000 FROM sms_tracking.report "
        "WHERE provider_message_id = 'A1' AND raw_status = 'DELIVRD'",
        "UPDATE sms_tracking.report SET error_code = NULL WHERE provider_message_id = 'A1'",
        "DELETE FROM sms_tracking.validated_object",
    )
    failed = fails_with(dsn)
    assert [r.id for r in failed.failures] == ["report.natural_key_unique"]
    row = results(dsn)["report.natural_key_unique"]
    assert (row["success"], row["unexpected_count"], row["expectation_type"]) == (
        False,
        2,
        "expect_compound_columns_to_be_unique",
    )
    assert [(r["provider_message_id"], r["raw_status"], r["error_code"]) for r in row["unexpected_sample"]] == [
        ("A1", "DELIVRD", None)
    ]


def test_a_unique_index_on_columns_or_their_coalesce_with_a_constant_proves_a_key(dsn: str) -> None:
    """Then the key is not counted (report_natural_key proves report.natural_key_unique); a COALESCE with another
    column does not prove it: (NULL, 1) and (NULL, 2) differ in the index but are duplicates of the check."""
    check = Check("k", "ExpectCompoundColumnsToBeUnique", "d", {"column_list": ["a", "b"]})
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE sms_tracking.test_keys (a text NOT NULL, b text, c text)")
        conn.execute("CREATE UNIQUE INDEX test_keys_ab ON sms_tracking.test_keys (a, coalesce(b, ''))")
        assert quality.rows.unique_index(conn, "test_keys", check)
        conn.execute("DROP INDEX sms_tracking.test_keys_ab")
        conn.execute("CREATE UNIQUE INDEX test_keys_abc ON sms_tracking.test_keys (a, coalesce(b, c))")
        assert not quality.rows.unique_index(conn, "test_keys", check)
        conn.execute("CREATE UNIQUE INDEX test_keys_b ON sms_tracking.test_keys (a, b)")  # b nullable: NULLs differ
        assert not quality.rows.unique_index(conn, "test_keys", check)
        report = next(suite for suite in SUITES if suite.name == "report")
        natural = next(c for c in report.checks if c.name == "natural_key_unique")
        assert report.source() == "report" and quality.rows.unique_index(conn, "report", natural)


def test_postgres_matches_the_e164_pattern_as_the_bounded_pattern(dsn: str) -> None:
    """GX matches numbers in Postgres: the lookahead form of E164 accepts there what ``{1,14}`` accepts."""
    with psycopg.connect(dsn) as conn:
        differ, matched = conn.execute(
            r"""WITH s (t) AS (
                    SELECT p || repeat('1', n) || e FROM unnest(ARRAY['+', '+0', '', '1']) p,
                           generate_series(0, 20) n, unnest(ARRAY['', E'\n', ' ', 'x']) e)
                SELECT count(*) FILTER (WHERE (t ~ %s) IS DISTINCT FROM (t ~ '^\+[1-9][0-9]{1,14}$')),
                       count(*) FILTER (WHERE t ~ %s) FROM s""",
            (quality.E164, quality.E164),
        ).fetchone()  # type: ignore[misc]
    assert (differ, matched) == (0, 14)


def test_unknown_status_fails_status_known(dsn: str, landing: Landing) -> None:
    landing.files["reports/smpp_main/r1.txt"] += smpp("A3", "BOGUS", "000", landing.t0 + timedelta(minutes=20))
    build(dsn, landing)
    failed = fails_with(dsn)
    assert [r.id for r in failed.failures] == ["report.status_known"]
    assert [r.id for r in failed.warnings] == ["qualification.all_qualified"]  # the build flagged it to qualify
    assert (
        "sms_tracking.report: report.status_known failed — expected every report's status is one the "
        "qualification table qualifies"
    ) in str(failed)
    assert "provider=smpp provider_message_id=A3 raw_status=BOGUS status_qualification=to_qualify" in str(failed)
    assert results(dsn)["report.status_known"]["unexpected_sample"][0]["raw_status"] == "BOGUS"


def test_done_before_submit_is_a_done_after_submit_warning(dsn: str, landing: Landing) -> None:
    sends = landing.files["sends/sends.csv"].splitlines(keepends=True)
    landing.files["sends/sends.csv"] = "".join(
        landing.send("D1", "r2", "+33612345679", "A2", 30) if ",A2," in line else line for line in sends
    )
    build(dsn, landing)
    # A warning: the delivery log already timed that report by its arrival (docs/reliability.md).
    summary = quality.validate_run(RUN, dsn=dsn, docs=False)
    assert summary["failed_critical"] == [] and summary["failed_warning"] == ["delivery_log.done_after_submit"]
    result = results(dsn)["delivery_log.done_after_submit"]
    assert result["unexpected_count"] == 1
    assert result["unexpected_sample"][0]["provider_message_id"] == "A2"


def test_orphan_reports_fail_past_their_bound(dsn: str, landing: Landing) -> None:
    landing.files["reports/smpp_main/r1.txt"] += smpp("ZZ9", "DELIVRD", "000", landing.t0 + timedelta(minutes=4))
    build(dsn, landing)
    failed = fails_with(dsn)
    assert [r.id for r in failed.failures] == ["report.matched_to_sent_message"]
    assert (
        "sms_tracking.report: report.matched_to_sent_message failed — expected reports match a sent message, "
        "but for at most orphan_max_share of them (orphans)"
    ) in str(failed)
    assert "1 of 7 rows unexpected; sample rows: report_id=" in str(failed)
    assert "provider_message_id=ZZ9 raw_status=DELIVRD sent_message_id=null" in str(failed)
    # One orphan in seven reports is within a 20 % bound; the retry's results replace the first attempt's.
    loose = replace(quality.load_config(), orphan_max_share=0.2)
    assert quality.validate_run(RUN, dsn=dsn, config=loose, docs=False)["failed_critical"] == []
    row = results(dsn)["report.matched_to_sent_message"]
    assert (row["success"], row["unexpected_count"], row["observed_value"]["unexpected_percent"]) == (
        True,
        1,
        pytest.approx(100 / 7),
    )


def test_summary_that_disagrees_with_the_log_fails(dsn: str, landing: Landing) -> None:
    build(dsn, landing)
    execute(dsn, "UPDATE sms_tracking.delivery_summary SET delivered = delivered + 1 WHERE delivery_id = 'D1'")
    failed = fails_with(dsn)
    assert [r.id for r in failed.failures] == ["delivery_summary.agrees_with_delivery_log"]
    assert "sms_tracking.delivery_summary: delivery_summary.agrees_with_delivery_log failed" in str(failed)
    assert (
        "sample rows: delivery_id=D1 disagreement=delivered 3 but the log has 2; "
        "sent 4 <> delivered + failed + pending + cancelled = 5"
    ) in str(failed)


def test_warning_is_recorded_and_does_not_raise(dsn: str, landing: Landing) -> None:
    landing.files["sends/sends.csv"] += landing.send("D1", "r1", "+33612345678", "A5", 1)
    build(dsn, landing)
    summary = quality.validate_run(RUN, dsn=dsn, docs=False)
    assert summary["failed_critical"] == []
    assert summary["failed_warning"] == ["message.recipient_sent_once"]
    row = results(dsn)["message.recipient_sent_once"]
    assert (row["success"], row["critical"], row["unexpected_count"]) == (False, False, 2)
    assert row["unexpected_sample"][0] == {"delivery_id": "D1", "recipient_id": "r1"}


def test_a_new_table_takes_a_few_lines_and_missing_tables_are_skipped(dsn: str, landing: Landing) -> None:
    build(dsn, landing)
    execute(
        dsn,
        "DROP TABLE sms_tracking.click",
        "CREATE TABLE sms_tracking.test_denylist (phone_e164 text)",
        "INSERT INTO sms_tracking.test_denylist VALUES ('+33612345678'), ('0612345678')",
    )
    denylist = Suite("test_denylist", "test_denylist", ("phone_e164",), checks=(e164("phone_e164"),))
    failed = fails_with(dsn, suites=(*SUITES, denylist))
    assert [r.id for r in failed.failures] == ["test_denylist.phone_e164_format"]
    assert "sample rows: phone_e164=0612345678" in str(failed)
    stored = results(dsn)
    assert stored["click.key_unique"]["success"] is None
    assert stored["click.key_unique"]["observed_value"] == "skipped: table missing (sms_tracking.click)"


def test_each_object_is_validated_by_one_run_and_again_by_its_retries(dsn: str, landing: Landing) -> None:
    build(dsn, landing)
    claim: Callable[[str], int] = lambda run_id: _claim(dsn, run_id)  # noqa: E731
    assert claim("first") == 7
    assert claim("second") == 0
    assert claim("first") == 7


def _claim(dsn: str, run_id: str) -> int:
    with psycopg.connect(dsn) as conn:
        return quality.claim_objects(conn, run_id)


def test_old_results_are_purged_but_each_checks_latest_is_kept(dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    rows = [
        ("r1", "report", "key_unique", 200),
        ("r2", "report", "key_unique", 100),
        ("r3", "report", "key_unique", 1),
        ("r1", "message", "key_unique", 200),
    ]  # message.key_unique ran once, 200 days ago
    with psycopg.connect(dsn) as conn:
        for run_id, suite, expectation, age in rows:
            conn.execute(
                "INSERT INTO sms_tracking.validation_result (run_id, suite, table_name, expectation, expectation_type,"
                " description, success, critical, validated_at) VALUES (%s, %s, %s, %s, 'x', 'x', true, true, %s)",
                (run_id, suite, suite, expectation, now - timedelta(days=age)),
            )
    assert quality.purge_results(now, dsn=dsn) == {"deleted": 2, "retention_days": 90}
    with psycopg.connect(dsn) as conn:
        kept = conn.execute("SELECT suite, run_id FROM sms_tracking.validation_result ORDER BY 1, 2").fetchall()
    assert kept == [("message", "r1"), ("report", "r3")]
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__VALIDATION_RETENTION_DAYS", "0")
    with pytest.raises(SettingsError, match=r"\[sms_tracking\] validation_retention_days: expected a whole number"):
        quality.purge_results(now, dsn=dsn)
