"""The tracking step on a real Postgres: tracked URLs, the click-to-message join and the bot rules."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.landing import run_all as run_pipeline, write
from tests.servers import rows

pytestmark = pytest.mark.integration

CONTENT = (
    "New in: www.shop.example.com/new, short link bit.ly/3xYz (not bit.ly/3XYZ, again: "
    "https://shop.example.com/new/). Opt out: https://shop.example.com/unsubscribe?u=1"
)
DELIVERY = f"""delivery_id,name,sender,content,provider,created_at,scheduled_at,is_proof
T1,Tracked,+447700900100,"{CONTENT}",twilio,2026-05-04T08:00:00Z,,false
"""
SENDS = """delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at,segments
T1,a,+33612345601,twilio,SMa,2026-05-04T09:00:00Z,1
T1,b,+33612345602,twilio,SMb,2026-05-04T09:00:00Z,1
"""
# a delivered at 09:01, b only sent (no delivery receipt): b's clicks are timed from its submit at 09:00.
CALLBACKS = """MessageSid=SMa&MessageStatus=delivered&RawDlrDoneDate=2605040901
MessageSid=SMb&MessageStatus=sent&RawDlrDoneDate=2605040900
"""
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
CLICKS = [
    # (name, recipient, token, url, clicked_at, user agent, method)
    ("human", "a", "ta", "https://shop.example.com/new", "09:05:00", BROWSER, "GET"),
    ("preview", "a", "ta", "https://shop.example.com/new", "09:05:01", "WhatsApp/2.23.20.0 A", "GET"),
    ("preview_head", "a", "ta", "https://shop.example.com/new", "09:05:02", "TelegramBot (like TwitterBot)", "HEAD"),
    ("head", "a", "ta", "http://bit.ly/3xYz", "09:06:00", BROWSER, "HEAD"),
    ("fast", "a", "ta", "https://shop.example.com/new", "09:01:01", BROWSER, "GET"),
    ("before", "a", "ta", "https://shop.example.com/new", "09:00:30", BROWSER, "GET"),
    ("slow_enough", "a", "ta", "https://shop.example.com/new", "09:01:03", BROWSER, "GET"),
    ("optout", "b", "tb", "https://shop.example.com/unsubscribe?u=1", "09:30:00", BROWSER, "GET"),
    ("b_fast", "b", "tb", "https://shop.example.com/new/", "09:00:01", BROWSER, "GET"),
    ("token_only", "", "tz", "https://shop.example.com/elsewhere", "09:00:00", BROWSER, "GET"),
    ("scanner", "b", "tb", "https://shop.example.com/new", "10:00:00", "AcmeMailGuard/3.1 link scanner", "GET"),
]


def clicks_csv(clicks: list[tuple[str, ...]]) -> str:
    rows = [f'T1,{r},{t},{u},2026-05-04T{at}Z,"{ua}",{m}\n' for _, r, t, u, at, ua, m in clicks]
    return "delivery_id,recipient_id,tracking_token,url,clicked_at,user_agent,method\n" + "".join(rows)


run_all = functools.partial(run_pipeline, sources=("campaign", "twilio_callbacks"))


def flags(dsn: str) -> dict[str, tuple[Any, ...]]:
    """Each click of CLICKS by name: (is_bot, bot_reason, url_position, clicker, provider_message_id)."""
    by_time = {f"2026-05-04 {at}+00": name for name, _, _, _, at, _, _ in CLICKS}
    found = rows(
        dsn,
        "SELECT clicked_at::text, is_bot, bot_reason, url_position, clicker, provider_message_id "
        "FROM sms_tracking.tracking_log",
    )
    return {by_time[row[0]]: row[1:] for row in found}


@pytest.fixture
def landing(make_landing: Callable[..., Path]) -> Path:
    return make_landing(
        {
            "deliveries/deliveries.csv": DELIVERY,
            "sends/sends.csv": SENDS,
            "clicks/clicks.csv": clicks_csv(CLICKS),
            "reports/twilio_callbacks/c1.txt": CALLBACKS,
        }
    )


def test_tracked_urls_come_from_the_content_once_each_with_labels(dsn: str, landing: Path) -> None:
    run_all(dsn)
    assert rows(dsn, "SELECT position, url, url_key, label, is_opt_out FROM sms_tracking.tracked_url ORDER BY 1") == [
        (1, "www.shop.example.com/new", "shop.example.com/new", "New in", False),
        (2, "bit.ly/3xYz", "bit.ly/3xYz", "short link", False),
        (3, "bit.ly/3XYZ", "bit.ly/3XYZ", "not", False),  # a path is case-sensitive: another short link
        (4, "https://shop.example.com/unsubscribe?u=1", "shop.example.com/unsubscribe?u=1", "Opt out", True),
    ]


def test_each_bot_rule_flags_its_clicks_and_none_is_deleted(dsn: str, landing: Path) -> None:
    run_all(dsn)
    found = flags(dsn)
    assert len(found) == len(CLICKS)
    assert {name: row[:2] for name, row in found.items()} == {
        "human": (False, None),
        "preview": (True, "user_agent"),
        "preview_head": (True, "user_agent"),  # the user agent is the first rule
        "head": (True, "head_request"),
        "fast": (True, "too_fast"),  # 1 s after a's delivery at 09:01
        "before": (True, "too_fast"),  # before the delivery it follows
        "slow_enough": (False, None),
        "optout": (False, None),
        "b_fast": (True, "too_fast"),  # b has no receipt: 1 s after its submit
        "token_only": (False, None),  # no message to time it from
        "scanner": (False, None),  # not a listed user agent
    }


def test_clicks_join_their_message_and_url(dsn: str, landing: Path) -> None:
    run_all(dsn)
    found = flags(dsn)
    assert found["human"][2:] == (1, "a", "SMa")
    assert found["head"][2:] == (2, "a", "SMa")  # http:// and no scheme are the same URL
    assert found["b_fast"][2:] == (1, "b", "SMb")  # a trailing slash too
    assert found["optout"][2:] == (4, "b", "SMb")
    assert found["token_only"][2:] == (None, "token:tz", None)
    assert rows(
        dsn,
        "SELECT is_opt_out, label FROM sms_tracking.tracking_log WHERE recipient_id = 'b' "
        "AND method = 'GET' AND url LIKE '%unsubscribe%'",
    ) == [(True, "Opt out")]


def test_bot_seconds_and_user_agents_are_configurable(dsn: str, landing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__BOT_CLICK_SECONDS", "0")
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__BOT_USER_AGENTS", "AcmeMailGuard, OtherScanner")
    run_all(dsn)
    found = flags(dsn)
    assert found["fast"][:2] == (False, None)
    assert found["before"][:2] == (True, "too_fast")  # before delivery is never a person
    assert found["scanner"][:2] == (True, "user_agent")


def test_late_receipt_retimes_the_clicks_of_its_message(dsn: str, landing: Path) -> None:
    run_all(dsn)
    assert flags(dsn)["b_fast"][:2] == (True, "too_fast")
    late = "MessageSid=SMb&MessageStatus=delivered&RawDlrDoneDate=2605040929\n"
    write(landing, "reports/twilio_callbacks/c2.txt", late)
    run_all(dsn)
    found = flags(dsn)
    assert found["b_fast"][:2] == (True, "too_fast")  # now 28 minutes before b's delivery
    assert found["optout"][:2] == (False, None)
    assert (
        rows(
            dsn,
            "SELECT message_at::text, seconds_after_message FROM sms_tracking.tracking_log "
            "WHERE recipient_id = 'b' AND url LIKE '%unsubscribe%'",
        )[0][1]
        == 60
    )


def test_clicks_loaded_before_their_delivery_get_its_urls_when_it_arrives(dsn: str, landing: Path) -> None:
    (landing / "deliveries" / "deliveries.csv").unlink()
    run_all(dsn)
    assert rows(dsn, "SELECT count(*), count(url_position) FROM sms_tracking.tracking_log") == [(len(CLICKS), 0)]
    write(landing, "deliveries/deliveries.csv", DELIVERY)
    run_all(dsn)
    assert rows(dsn, "SELECT count(*), count(url_position) FROM sms_tracking.tracking_log") == [(len(CLICKS), 10)]


def test_new_content_replaces_the_tracked_urls(dsn: str, landing: Path) -> None:
    run_all(dsn)
    write(landing, "deliveries/deliveries.csv", DELIVERY.replace("bit.ly/3xYz", "https://shop.example.com/short"))
    run_all(dsn)
    assert rows(dsn, "SELECT position, url FROM sms_tracking.tracked_url ORDER BY 1") == [
        (1, "www.shop.example.com/new"),
        (2, "https://shop.example.com/short"),
        (3, "bit.ly/3XYZ"),
        (4, "https://shop.example.com/unsubscribe?u=1"),
    ]
    assert flags(dsn)["head"][2] is None  # bit.ly is no longer in the content
