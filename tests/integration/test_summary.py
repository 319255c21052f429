"""The summary's indicators on a real Postgres: a small fixed scenario computed by hand, then the
summary arithmetic on generated sample data (docs/kpis.md is the contract checked here)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from tests.integration.test_pipeline import FILES
from tests.landing import run_all, write

from sms_tracking import db, pipeline

pytestmark = pytest.mark.integration

# D1 (Twilio, 2026-05-04 09:00 UTC): 13 targets, of which r11 (same number as r01), r12 (no phone) and
# r13 (not a number) are excluded; 10 messages. D2 is a proof. D3 (SMPP, 2026-05-05 08:00 UTC) is in UCS-2.
D1_CONTENT = "Spring sale -30% today: https://shop.example.com/sale?c=d1 Unsubscribe: shop.example.com/unsub"
D2_CONTENT = "Spring sale -30% today: https://shop.example.com/sale?c=d1"
D3_CONTENT = "Fête des mères 💐 : -20% sur les fleurs ce week-end, profitez-en vite dans votre boutique ShopEx !"
DELIVERIES = f"""delivery_id,name,sender,content,provider,created_at,scheduled_at,is_proof
D1,Spring sale,+447700900100,{D1_CONTENT},twilio,2026-05-04T08:00:00Z,2026-05-04T09:00:00Z,false
D2,Spring sale (proof),+447700900100,{D2_CONTENT},twilio,2026-05-04T11:00:00Z,2026-05-04T12:00:00Z,true
D3,Fete des meres,36179,"{D3_CONTENT}",smpp,2026-05-05T07:00:00Z,2026-05-05T08:00:00Z,false
"""
PHONES = {
    "r01": "+33612345601",
    "r02": "+33612345602",
    "r03": "+33612345603",
    "r04": "+33612345604",
    "r05": "+33612345605",
    "r06": "+33612345606",
    "r07": "+447700900107",
    "r08": "+447700900108",
    "r09": "+12025550109",
    "r10": "+12025550110",
}
TARGETS = (
    "delivery_id,recipient_id,phone\n"
    + "".join(f"D1,{r},{p}\n" for r, p in PHONES.items())
    + "D1,r11,+33612345601\nD1,r12,\nD1,r13,n/a\n"
    + "D2,p1,+33699999901\nD2,p2,+33699999902\n"
    + "D3,r09,+12025550109\nD3,r20,+33612345620\nD3,r21,+33612345621\n"
)
SENDS = (
    "delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at,segments\n"
    + "".join(
        f"D1,{r},{p},twilio,SM{r},2026-05-04T{'09:05' if r == 'r08' else '09:00'}:00Z,1\n" for r, p in PHONES.items()
    )
    + "D2,p1,+33699999901,twilio,SMp1,2026-05-04T12:00:00Z,1\nD2,p2,+33699999902,twilio,SMp2,2026-05-04T12:00:00Z,1\n"
    + "D3,r09,+12025550109,smpp,S1,2026-05-05T08:00:00Z,2\nD3,r20,+33612345620,smpp,S2,2026-05-05T08:00:00Z,2\n"
    + "D3,r21,+33612345621,smpp,S3,2026-05-05T08:00:00Z,2\n"
)


def callback(sid: str, status: str, done: str, error: str | None = None) -> str:
    code = f"&ErrorCode={error}" if error else ""
    return f"MessageSid={sid}&MessageStatus={status}{code}&RawDlrDoneDate={done}\n"


# r01 60 s, r02 120 s, r03 sent only (delivered in the late file, 600 s), r04 Hard 30005, r05 Soft 30003,
# r06 Ignored 30007, r07 Denylisted 21610 (0 s), r08 sent only, r09 60 s, r10 240 s.
CALLBACKS = "".join(
    (
        callback("SMr01", "sent", "2605040900"),
        callback("SMr01", "delivered", "2605040901"),
        callback("SMr02", "delivered", "2605040902"),
        callback("SMr03", "sent", "2605040901"),
        callback("SMr04", "undelivered", "2605040901", "30005"),
        callback("SMr05", "undelivered", "2605040903", "30003"),
        callback("SMr06", "failed", "2605040901", "30007"),
        callback("SMr07", "failed", "2605040900", "21610"),
        callback("SMr08", "sent", "2605040906"),
        callback("SMr09", "delivered", "2605040901"),
        callback("SMr10", "delivered", "2605040904"),
        callback("SMp1", "delivered", "2605041201"),
        callback("SMp2", "delivered", "2605041202"),
    )
)
LATE_CALLBACKS = callback("SMr03", "delivered", "2605040910")
# The REST API, read while r01 and r04 were in flight, gives their prices: 0.0075 USD each.
API = "".join(
    f'{{"sid": "{sid}", "status": "sent", "date_updated": "Mon, 04 May 2026 09:00:30 +0000", '
    f'"price": "-0.00750", "price_unit": "USD", "num_segments": "1"}}\n'
    for sid in ("SMr01", "SMr04")
)
# SMPP dates are Europe/Paris wall time (UTC+2): S1 delivered in 60 s, S2 en route, S3 an unknown err 077 in 300 s.
SMPP = """id:S1 sub:002 dlvrd:002 submit date:2605051000 done date:2605051001 stat:DELIVRD err:000 text:Fete
id:S2 sub:002 dlvrd:000 submit date:2605051000 done date:2605051000 stat:ENROUTE err:000 text:Fete
id:S3 sub:002 dlvrd:000 submit date:2605051000 done date:2605051005 stat:UNDELIV err:077 text:Fete
"""
CHROME = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile"
SALE, UNSUB, OTHER = (f"https://shop.example.com/{p}" for p in ("sale?c=d1", "unsub", "other"))
CLICKS = "delivery_id,recipient_id,tracking_token,url,clicked_at,user_agent,method\n" + "".join(
    f'{d},{r},{t},{u},{at},"{ua}",{m}\n'
    for d, r, t, u, at, ua, m in (
        ("D1", "r01", "t01", SALE, "2026-05-04T09:06:00Z", CHROME, "GET"),  # human
        ("D1", "r01", "t01", SALE, "2026-05-04T09:30:00Z", CHROME, "GET"),  # human, same clicker again
        ("D1", "r01", "t01", SALE, "2026-05-04T09:01:01Z", CHROME, "GET"),  # 1 s after delivery: too fast
        ("D1", "r02", "t02", SALE, "2026-05-04T09:02:30Z", "facebookexternalhit/1.1", "GET"),  # link preview
        ("D1", "r03", "t03", SALE, "2026-05-04T09:20:00Z", CHROME, "HEAD"),  # prefetch
        ("D1", "r03", "t03", UNSUB, "2026-05-04T09:25:00Z", CHROME, "GET"),  # human opt-out click
        ("D1", "", "tok9", SALE, "2026-05-04T10:00:00Z", CHROME, "GET"),  # token only: human
        ("D1", "r01", "t01", OTHER, "2026-05-04T09:40:00Z", CHROME, "GET"),  # a URL not in the content
        ("D1", "r03", "t03", UNSUB, "2026-05-04T09:26:00Z", "Slackbot-LinkExpanding 1.0", "GET"),
        ("D1", "r03", "t03", SALE, "2026-05-04T09:10:01Z", CHROME, "GET"),  # too fast once r03's late report is in
        ("D2", "p1", "tp1", SALE, "2026-05-04T12:30:00Z", CHROME, "GET"),
    )
)
# STOP from r02 an hour after D1: D1's opt-out. STOP from r09 after D3 reached it too: D3's, not D1's.
# STOP from r10 nine days after D1: past AIRFLOW__SMS_TRACKING__OPT_OUT_DAYS, nobody's.
INBOUND = """provider,provider_message_id,phone,recipient,text,received_at
twilio,SMin1,+33612345602,+447700900100,STOP,2026-05-04T10:00:00Z
smpp,,12025550109,36179,STOP,2026-05-05T09:00:00Z
twilio,SMin3,+12025550110,+447700900100,STOP,2026-05-13T09:00:00Z
"""

SUMMARY_COLUMNS = (
    "is_proof",
    "initial_population",
    "excluded",
    "to_deliver",
    "processed",
    "sent",
    "delivered",
    "failed",
    "pending",
    "success",
    "hard",
    "soft",
    "ignored",
    "success_rate",
    "delivery_rate",
    "error_rate",
    "new_quarantines",
    "opt_outs",
    "total_clicks",
    "total_clicks_human",
    "unique_clickers",
    "unique_clickers_human",
    "opt_out_clicks",
    "opt_out_clicks_human",
    "click_through_rate",
    "click_through_rate_raw",
    "segments",
    "cost",
    "cost_unit",
    "latency_p50_s",
    "latency_p95_s",
    "latency_max_s",
    "first_submit_at",
    "last_submit_at",
    "last_report_at",
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def d(text: str) -> Decimal:
    return Decimal(text)


# Hand-computed, after the late report. Latencies of D1's final messages: 0, 60, 60, 60, 60, 120, 180, 240, 600
# -> median 60, p95 = 240 + 0.6 * (600 - 240) = 456. Clicks: 10 in all; bots: r01's 1-second click, r02's
# preview, r03's HEAD, r03's Slackbot and r03's click 1 s after its late delivery; clickers r01, r02, r03 and
# token tok9, of whom r01, r03 and tok9 made a human click; 5 delivered.
EXPECTED_D1 = {
    "is_proof": False,
    "initial_population": 13,
    "excluded": 3,
    "to_deliver": 10,
    "processed": 10,
    "sent": 10,
    "delivered": 5,
    "failed": 4,
    "pending": 1,
    "success": 6,
    "hard": 2,
    "soft": 1,
    "ignored": 1,
    "success_rate": d("0.600000"),
    "delivery_rate": d("0.500000"),
    "error_rate": d("0.400000"),
    "new_quarantines": 1,
    "opt_outs": 2,
    "total_clicks": 10,
    "total_clicks_human": 5,
    "unique_clickers": 4,
    "unique_clickers_human": 3,
    "opt_out_clicks": 2,
    "opt_out_clicks_human": 1,
    "click_through_rate": d("0.600000"),
    "click_through_rate_raw": d("0.800000"),
    "segments": 10,
    "cost": d("0.01500"),
    "cost_unit": "USD",
    "latency_p50_s": d("60.0"),
    "latency_p95_s": d("456.0"),
    "latency_max_s": d("600.0"),
    "first_submit_at": at("2026-05-04T09:00:00"),
    "last_submit_at": at("2026-05-04T09:05:00"),
    "last_report_at": at("2026-05-04T09:10:00"),
}
# Before the late report: r03 pending, its 09:10:01 click human; finals 0, 60, 60, 60, 60, 120, 180, 240.
EXPECTED_D1_BEFORE_LATE_REPORT = {
    **EXPECTED_D1,
    "delivered": 4,
    "pending": 2,
    "delivery_rate": d("0.400000"),
    "total_clicks_human": 6,
    "click_through_rate": d("0.750000"),
    "click_through_rate_raw": d("1.000000"),
    "latency_p95_s": d("219.0"),
    "latency_max_s": d("240.0"),
    "last_report_at": at("2026-05-04T09:06:00"),
}
EXPECTED_D2 = {
    "is_proof": True,
    "initial_population": 2,
    "excluded": 0,
    "to_deliver": 2,
    "processed": 2,
    "sent": 2,
    "delivered": 2,
    "failed": 0,
    "pending": 0,
    "success": 2,
    "hard": 0,
    "soft": 0,
    "ignored": 0,
    "success_rate": d("1.000000"),
    "delivery_rate": d("1.000000"),
    "error_rate": d("0.000000"),
    "new_quarantines": 0,
    "opt_outs": 0,
    "total_clicks": 1,
    "total_clicks_human": 1,
    "unique_clickers": 1,
    "unique_clickers_human": 1,
    "opt_out_clicks": 0,
    "opt_out_clicks_human": 0,
    "click_through_rate": d("0.500000"),
    "click_through_rate_raw": d("0.500000"),
    "segments": 2,
    "cost": None,
    "cost_unit": None,
    "latency_p50_s": d("90.0"),
    "latency_p95_s": d("117.0"),
    "latency_max_s": d("120.0"),
    "first_submit_at": at("2026-05-04T12:00:00"),
    "last_submit_at": at("2026-05-04T12:00:00"),
    "last_report_at": at("2026-05-04T12:02:00"),
}
# D3: latencies 60 and 300 -> median 180, p95 = 60 + 0.95 * 240 = 288; 3 messages of 2 segments.
EXPECTED_D3 = {
    "is_proof": False,
    "initial_population": 3,
    "excluded": 0,
    "to_deliver": 3,
    "processed": 3,
    "sent": 3,
    "delivered": 1,
    "failed": 1,
    "pending": 1,
    "success": 2,
    "hard": 0,
    "soft": 1,
    "ignored": 0,
    "success_rate": d("0.666667"),
    "delivery_rate": d("0.333333"),
    "error_rate": d("0.333333"),
    "new_quarantines": 0,
    "opt_outs": 1,
    "total_clicks": 0,
    "total_clicks_human": 0,
    "unique_clickers": 0,
    "unique_clickers_human": 0,
    "opt_out_clicks": 0,
    "opt_out_clicks_human": 0,
    "click_through_rate": d("0.000000"),
    "click_through_rate_raw": d("0.000000"),
    "segments": 6,
    "cost": None,
    "cost_unit": None,
    "latency_p50_s": d("180.0"),
    "latency_p95_s": d("288.0"),
    "latency_max_s": d("300.0"),
    "first_submit_at": at("2026-05-05T08:00:00"),
    "last_submit_at": at("2026-05-05T08:00:00"),
    "last_report_at": at("2026-05-05T08:05:00"),
}


def rows(dsn: str, sql: str, params: Any = None) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def summary(dsn: str) -> dict[str, dict[str, Any]]:
    columns = ", ".join(SUMMARY_COLUMNS)
    found = rows(dsn, f"SELECT delivery_id, refreshed_by_run, {columns} FROM sms_tracking.delivery_summary")
    return {row.pop("delivery_id"): row for row in found}


@pytest.fixture
def scenario(dsn: str, make_landing: Callable[..., Path]) -> Path:
    """The fixed scenario loaded and built once ("b1"), the late report still to come."""
    root = make_landing(
        {
            "deliveries/deliveries.csv": DELIVERIES,
            "targets/targets.csv": TARGETS,
            "sends/sends.csv": SENDS,
            "clicks/clicks.csv": CLICKS,
            "inbound/inbound.csv": INBOUND,
            "reports/twilio_callbacks/c1.txt": CALLBACKS,
            "reports/twilio_api/m1.jsonl": API,
            "reports/smpp_main/r1.txt": SMPP,
        }
    )
    run_all(dsn, "b1")
    return root


def deliver_late_report(dsn: str, root: Path) -> None:
    write(root, "reports/twilio_callbacks/c2.txt", LATE_CALLBACKS)
    run_all(dsn, "b2")


def test_every_indicator_matches_the_hand_computed_scenario(dsn: str, scenario: Path) -> None:
    deliver_late_report(dsn, scenario)
    found = summary(dsn)
    assert {k: v for k, v in found["D1"].items() if k != "refreshed_by_run"} == EXPECTED_D1
    assert {k: v for k, v in found["D2"].items() if k != "refreshed_by_run"} == EXPECTED_D2
    assert {k: v for k, v in found["D3"].items() if k != "refreshed_by_run"} == EXPECTED_D3


def test_before_the_late_report_the_message_is_pending(dsn: str, scenario: Path) -> None:
    found = summary(dsn)["D1"]
    assert {k: v for k, v in found.items() if k != "refreshed_by_run"} == EXPECTED_D1_BEFORE_LATE_REPORT


def test_late_report_rebuilds_only_the_delivery_it_touches(dsn: str, scenario: Path) -> None:
    deliver_late_report(dsn, scenario)
    runs = {key: row["refreshed_by_run"] for key, row in summary(dsn).items()}
    assert runs == {"D1": "b2", "D2": "b1", "D3": "b1"}
    with psycopg.connect(dsn) as conn:
        queues = conn.execute(
            "SELECT (SELECT count(*) FROM sms_tracking.pending_delivery),"
            " (SELECT count(*) FROM sms_tracking.pending_summary)"
        ).fetchone()
    assert queues == (0, 0)


def test_a_rebuild_with_nothing_new_changes_no_indicator(dsn: str, scenario: Path) -> None:
    before = summary(dsn)
    run_all(dsn, "b3")
    assert summary(dsn) == before


def test_errors_are_split_by_failure_type_and_reason(dsn: str, scenario: Path) -> None:
    found = rows(
        dsn,
        "SELECT delivery_id, failure_type, failure_reason, messages, segments, cost "
        "FROM sms_tracking.delivery_failure_summary ORDER BY 1, 2, 3",
    )
    assert [tuple(r.values()) for r in found] == [
        ("D1", "Hard", "Denylisted", 1, 1, None),
        ("D1", "Hard", "User unknown", 1, 1, d("0.00750")),
        ("D1", "Ignored", "Refused", 1, 1, None),
        ("D1", "Soft", "Unreachable", 1, 1, None),
        ("D3", "Soft", "Not defined", 1, 2, None),
    ]
    shares = rows(
        dsn,
        "SELECT failure_reason, share_of_failed, share_of_processed "
        "FROM sms_tracking_bi.delivery_failure_reason WHERE delivery_id = 'D1' ORDER BY 1",
    )
    assert tuple(shares[0].values()) == ("Denylisted", d("0.250000"), d("0.100000"))


def test_exclusions_are_counted_by_cause(dsn: str, scenario: Path) -> None:
    found = rows(
        dsn,
        "SELECT delivery_id, reason, recipients, share_of_initial_population "
        "FROM sms_tracking_bi.delivery_exclusion_cause ORDER BY 1, 2",
    )
    assert [tuple(r.values()) for r in found] == [
        ("D1", "Address empty", 1, d("0.076923")),
        ("D1", "Duplicate", 1, d("0.076923")),
        ("D1", "Invalid number", 1, d("0.076923")),
    ]


def test_clicks_are_given_per_url_raw_and_human(dsn: str, scenario: Path) -> None:
    deliver_late_report(dsn, scenario)
    found = rows(
        dsn,
        "SELECT url, url_position, label, is_opt_out, total_clicks, total_clicks_human, unique_clickers, "
        "unique_clickers_human, click_through_rate, click_through_rate_raw "
        "FROM sms_tracking_bi.delivery_url_kpi WHERE delivery_id = 'D1' ORDER BY url_position NULLS LAST",
    )
    assert [tuple(r.values()) for r in found] == [
        (SALE, 1, "Spring sale -30% today", False, 7, 3, 4, 2, d("0.400000"), d("0.800000")),
        ("shop.example.com/unsub", 2, "Unsubscribe", True, 2, 1, 1, 1, d("0.200000"), d("0.200000")),
        (OTHER, None, None, False, 1, 1, 1, 1, d("0.200000"), d("0.200000")),
    ]


def test_daily_breakdowns_leave_the_proof_out(dsn: str, scenario: Path) -> None:
    deliver_late_report(dsn, scenario)
    provider = rows(dsn, "SELECT * FROM sms_tracking.daily_provider ORDER BY day, provider")
    assert [tuple(r.values()) for r in provider] == [
        (
            date(2026, 5, 4),
            "twilio",
            1,
            10,
            5,
            4,
            1,
            6,
            2,
            1,
            1,
            10,
            d("0.01500"),
            d("60.0"),
            d("456.0"),
            d("600.0"),
            0,
        ),
        (date(2026, 5, 5), "smpp", 1, 3, 1, 1, 1, 2, 0, 1, 0, 6, None, d("180.0"), d("288.0"), d("300.0"), 0),
    ]
    country = rows(dsn, "SELECT * FROM sms_tracking.daily_country ORDER BY day, country")
    assert [tuple(r.values()) for r in country] == [
        (date(2026, 5, 4), "FR", 6, 3, 3, 0, 3, 1, 1, 1, 6, d("0.01500"), 0),
        (date(2026, 5, 4), "GB", 2, 0, 1, 1, 1, 1, 0, 0, 2, None, 0),
        (date(2026, 5, 4), "US", 2, 2, 0, 0, 2, 0, 0, 0, 2, None, 0),
        (date(2026, 5, 5), "FR", 2, 0, 1, 1, 1, 0, 1, 0, 4, None, 0),
        (date(2026, 5, 5), "US", 1, 1, 0, 0, 1, 0, 0, 0, 2, None, 0),
    ]
    reasons = rows(
        dsn,
        "SELECT day, provider, failure_type, failure_reason, failed, share_of_failed "
        "FROM sms_tracking_bi.daily_failure_reason ORDER BY 1, 2, 3, 4",
    )
    assert [tuple(r.values()) for r in reasons] == [
        (date(2026, 5, 4), "twilio", "Hard", "Denylisted", 1, d("0.250000")),
        (date(2026, 5, 4), "twilio", "Hard", "User unknown", 1, d("0.250000")),
        (date(2026, 5, 4), "twilio", "Ignored", "Refused", 1, d("0.250000")),
        (date(2026, 5, 4), "twilio", "Soft", "Unreachable", 1, d("0.250000")),
        (date(2026, 5, 5), "smpp", "Soft", "Not defined", 1, d("1.000000")),
    ]


def test_proof_is_kept_apart_from_the_kpi_views(dsn: str, scenario: Path) -> None:
    kpi = {r["delivery_id"] for r in rows(dsn, "SELECT delivery_id FROM sms_tracking_bi.delivery_kpi")}
    proofs = rows(dsn, "SELECT delivery_id, sent, delivered FROM sms_tracking_bi.proof_delivery")
    clicks = {r["delivery_id"] for r in rows(dsn, "SELECT DISTINCT delivery_id FROM sms_tracking_bi.tracking_log")}
    assert kpi == {"D1", "D3"}
    assert [tuple(r.values()) for r in proofs] == [("D2", 2, 2)]
    assert clicks == {"D1"}


def test_every_bi_column_is_commented(dsn: str) -> None:
    missing = rows(
        dsn,
        """
        SELECT c.relname, a.attname
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE (n.nspname = 'sms_tracking_bi'
                OR (n.nspname = 'sms_tracking' AND c.relname IN (
                    'delivery_summary', 'delivery_exclusion_summary', 'delivery_failure_summary',
                    'delivery_url_summary', 'daily_provider', 'daily_country', 'daily_failure_reason', 'tracked_url',
                    'tracking_log')))
           AND c.relkind IN ('r', 'v')
           AND col_description(c.oid, a.attnum) IS NULL
         ORDER BY 1, 2""",
    )
    assert missing == []


# ---- the summary arithmetic on generated sample data -------------------------------------------------------

SNAPSHOT = {
    "delivery_summary": "SELECT * FROM sms_tracking.delivery_summary ORDER BY delivery_id",
    "delivery_url_summary": "SELECT * FROM sms_tracking.delivery_url_summary ORDER BY 1, 2",
    "delivery_failure_summary": "SELECT * FROM sms_tracking.delivery_failure_summary ORDER BY 1, 2, 3",
    "delivery_exclusion_summary": "SELECT * FROM sms_tracking.delivery_exclusion_summary ORDER BY 1, 2",
    "daily_provider": "SELECT * FROM sms_tracking.daily_provider ORDER BY 1, 2",
    "daily_country": "SELECT * FROM sms_tracking.daily_country ORDER BY 1, 2",
    "daily_failure_reason": "SELECT * FROM sms_tracking.daily_failure_reason ORDER BY 1, 2, 3, 4",
    "tracking_log": "SELECT * FROM sms_tracking.tracking_log ORDER BY click_key",
}


def snapshot(dsn: str) -> dict[str, list[dict[str, Any]]]:
    found = {name: rows(dsn, sql) for name, sql in SNAPSHOT.items()}
    for row in found["delivery_summary"]:
        del row["refreshed_at"], row["refreshed_by_run"]
    return found


@pytest.fixture
def sample(dsn: str, tmp_path: Path, make_landing: Callable[..., Path]) -> str:
    """Generated sample data loaded in two rounds: everything but the Twilio API pages, then those."""
    from sms_tracking_dev.sample_data import generate

    root = make_landing()
    generate(root, messages=1500, seed=11)
    api = root / "reports" / "twilio_api"
    held = tmp_path / "held"
    api.rename(held)
    run_all(dsn, "s1")
    held.rename(api)
    run_all(dsn, "s2")
    return dsn


def test_summary_arithmetic_holds_on_sample_data(sample: str) -> None:
    found = rows(sample, "SELECT * FROM sms_tracking.delivery_summary")
    assert len(found) >= 3
    for s in found:
        where = s["delivery_id"]
        assert s["sent"] == s["delivered"] + s["failed"] + s["pending"] + s["cancelled"], where
        assert s["success"] == s["delivered"] + s["pending"], where
        assert s["processed"] == s["success"] + s["failed"] == s["sent"] - s["cancelled"], where
        assert s["failed"] == s["hard"] + s["soft"] + s["ignored"], where
        assert s["to_deliver"] == s["initial_population"] - s["excluded"], where
        assert s["sent"] <= s["to_deliver"], where
        assert s["unique_clickers_human"] <= s["unique_clickers"] <= s["total_clicks"], where
        assert s["total_clicks_human"] <= s["total_clicks"], where
        assert s["opt_out_clicks_human"] <= s["opt_out_clicks"] <= s["total_clicks"], where
        assert s["latency_p50_s"] <= s["latency_p95_s"] <= s["latency_max_s"], where
        assert s["success_rate"] == round(Decimal(s["success"]) / s["sent"], 6), where
        assert s["delivery_rate"] == round(Decimal(s["delivered"]) / s["sent"], 6), where
        assert s["click_through_rate"] == round(Decimal(s["unique_clickers_human"]) / s["delivered"], 6), where
    checks = rows(
        sample,
        """
        SELECT s.delivery_id,
               s.excluded = (SELECT coalesce(sum(recipients), 0) FROM sms_tracking.delivery_exclusion_summary x
                              WHERE x.delivery_id = s.delivery_id) AS excluded_by_cause,
               s.to_deliver = (SELECT count(*) FROM sms_tracking.send_list l WHERE l.delivery_id = s.delivery_id)
                   AS to_deliver_is_the_send_list,
               s.failed = (SELECT coalesce(sum(messages), 0) FROM sms_tracking.delivery_failure_summary f
                            WHERE f.delivery_id = s.delivery_id) AS failed_by_reason,
               (s.total_clicks, s.total_clicks_human)
                   = (SELECT coalesce(sum(total_clicks), 0), coalesce(sum(total_clicks_human), 0)
                        FROM sms_tracking.delivery_url_summary u WHERE u.delivery_id = s.delivery_id)
                   AS clicks_by_url
          FROM sms_tracking.delivery_summary s""",
    )
    for check in checks:
        assert all(check.values()), check
    totals = rows(
        sample,
        """
        SELECT (SELECT (sum(sent), sum(delivered), sum(failed), sum(pending), sum(segments))::text
                  FROM sms_tracking.delivery_summary WHERE NOT is_proof) AS deliveries,
               (SELECT (sum(sent), sum(delivered), sum(failed), sum(pending), sum(segments))::text
                  FROM sms_tracking.daily_provider) AS by_provider,
               (SELECT (sum(sent), sum(delivered), sum(failed), sum(pending), sum(segments))::text
                  FROM sms_tracking.daily_country) AS by_country,
               (SELECT sum(failed) FROM sms_tracking.delivery_summary WHERE NOT is_proof) AS failed,
               (SELECT sum(failed) FROM sms_tracking.daily_failure_reason) AS failed_by_reason""",
    )[0]
    assert totals["deliveries"] == totals["by_provider"] == totals["by_country"]
    assert totals["failed"] == totals["failed_by_reason"]
    proofs = rows(sample, "SELECT count(*) AS n FROM sms_tracking.delivery_summary WHERE is_proof")
    assert proofs[0]["n"] == 1


def test_incremental_summary_equals_a_full_rebuild(sample: str) -> None:
    incremental = snapshot(sample)
    with psycopg.connect(sample) as conn:
        for table in (
            "tracking_log",
            "delivery_url_summary",
            "delivery_failure_summary",
            "delivery_exclusion_summary",
            "daily_provider",
            "daily_country",
            "daily_failure_reason",
            "summary_delivery_day",
            "delivery_summary",
        ):
            conn.execute(f"DELETE FROM sms_tracking.{table}")
        conn.execute("INSERT INTO sms_tracking.pending_delivery SELECT delivery_id FROM sms_tracking.delivery")
    for step in ("tracking", "audit", "summary"):
        pipeline.build_step(step, run_id="full", dsn=sample)
    assert snapshot(sample) == incremental


def test_a_delivery_summarised_before_its_days_were_recorded_keeps_its_days(
    dsn: str, make_landing: Callable[..., Path]
) -> None:
    # The daily tables read a day's messages through summary_delivery_day: migration 0035 records the days of a
    # delivery summarised before migration 0004 created it, which would otherwise drop out of its day when
    # another delivery recomputes it.
    landing = make_landing(FILES)
    run_all(dsn)
    before = daily_provider_sent(dsn)
    with psycopg.connect(dsn) as conn:
        conn.execute("DELETE FROM sms_tracking.summary_delivery_day WHERE delivery_id = 'D2'")
        conn.execute(db.sql_text("migrations/0035_summary_delivery_day_backfill.sql"))
    write(
        landing,
        "reports/smpp_main/r2.txt",
        "id:A3 sub:001 dlvrd:001 submit date:2605041000 done date:2605041030 stat:DELIVRD err:000 text:Sale today\n",
    )
    run_all(dsn)  # D1 changes: its day is recomputed, D2's messages of that day with it
    assert daily_provider_sent(dsn) == before


def daily_provider_sent(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT day, provider, sent FROM sms_tracking.daily_provider ORDER BY 1, 2").fetchall()
