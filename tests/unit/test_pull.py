"""The pure parts of the API pull: options, window, retry verdicts and delays, page naming and storage,
and the page loops driven by a scripted client (no network, no database)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sms_tracking import pull
from sms_tracking.config import load_sources
from sms_tracking.ingest import list_objects
from sms_tracking.pull import (
    CredentialRejected,
    PageStore,
    PullError,
    RequestRejected,
    RetryPolicy,
    Window,
    fetch_page,
    judge,
    parse_retry_after,
    pull_options,
    pull_window,
    run_end,
)
from sms_tracking.settings import Settings

NOW = datetime(2026, 5, 4, 12, 30, 15, 123456, tzinfo=UTC)
DECLARED = RetryPolicy.from_settings(Settings())


# -- options and window ------------------------------------------------------------------------------


def test_twilio_options_default_to_full_pages_and_a_day_of_look_back() -> None:
    assert pull_options("twilio", {"id_format": "ignored"}) == {
        "page_size": 1000,
        "lookback": timedelta(days=1),
        "start": None,
        "account_sid": None,
    }
    options = pull_options("twilio", {"page_size": "50", "lookback": "2h", "start": "2026-05-01"})
    assert options["page_size"] == 50 and options["lookback"] == timedelta(hours=2)
    assert options["start"] == datetime(2026, 5, 1, tzinfo=UTC)


def test_infobip_options_default_to_the_api_maximum() -> None:
    assert pull_options("infobip", {}) == {"limit": 1000, "max_pages": 100, "endpoint": "/sms/1/reports"}


@pytest.mark.parametrize(
    ("provider", "options", "message"),
    [
        ("twilio", {"page_size": "1001"}, "option page_size '1001' must be a whole number from 1 to 1000"),
        ("twilio", {"page_size": "ten"}, "option page_size 'ten'"),
        ("twilio", {"lookback": "soon"}, "option lookback"),
        ("twilio", {"start": "yesterday"}, "option start 'yesterday'"),
        ("infobip", {"limit": "0"}, "option limit '0'"),
        ("infobip", {"endpoint": "sms/1/reports"}, "must be a path starting with /"),
        ("vonage", {}, "provider 'vonage' has no API pull"),
    ],
)
def test_a_wrong_option_names_the_option(provider: str, options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        pull_options(provider, options)


def test_window_starts_a_look_back_before_the_watermark() -> None:
    window = pull_window(datetime(2026, 5, 4, 11, tzinfo=UTC), NOW, timedelta(hours=2))
    assert window == Window(datetime(2026, 5, 4, 9, tzinfo=UTC), NOW.replace(microsecond=0))
    assert window.name == "20260504T090000Z-20260504T123015Z"


def test_first_window_starts_at_start_or_a_look_back_ago() -> None:
    assert pull_window(None, NOW, timedelta(hours=2)).since == datetime(2026, 5, 4, 10, 30, 15, tzinfo=UTC)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert pull_window(None, NOW, timedelta(hours=2), start).since == start
    # The start no longer matters once a watermark exists.
    assert pull_window(NOW, NOW, timedelta(), start).since == NOW.replace(microsecond=0)


def test_window_never_starts_after_it_ends() -> None:
    window = pull_window(NOW + timedelta(days=1), NOW)
    assert window.since == window.until


def test_run_end_is_the_interval_end_else_the_run_time_and_never_the_future() -> None:
    assert run_end(NOW - timedelta(hours=1), NOW, now=NOW) == NOW - timedelta(hours=1)
    assert run_end(None, NOW - timedelta(minutes=5), now=NOW) == NOW - timedelta(minutes=5)
    assert run_end(NOW + timedelta(hours=1), None, now=NOW) == NOW


def test_a_page_is_stored_on_one_line_with_the_same_json() -> None:
    body = json.dumps({"messages": [{"body": "a\nb"}], "next_page_uri": None}, indent=2).encode()
    line = pull.one_line(body)
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    assert json.loads(line) == json.loads(body)


# -- verdicts and delays -----------------------------------------------------------------------------


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Mon, 04 May 2026 12:30:45 GMT", now=NOW.replace(microsecond=0)) == 30.0
    assert parse_retry_after("Mon, 04 May 2026 12:00:00 GMT", now=NOW) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


VERDICTS: dict[str, list[tuple[int, bytes]]] = {
    "ok": [(200, b'{"messages": []}')],
    "retry": [
        (200, b'{"messages": [{"sid": "SM1"'),
        (200, b"[1, 2]"),
        (200, b""),
        (429, b"{}"),
        (408, b""),
        (500, b"oops"),
        (503, b""),
    ],
    "credential": [(401, b'{"code": 20003}'), (403, b"{}")],
    "reject": [(400, b'{"code": 20001}'), (404, b"")],
}
"""(status, body) of each kind of answer, by the action the verdict on it takes."""


@pytest.mark.parametrize(
    ("status", "body", "action"), [(*answer, verdict) for verdict, answers in VERDICTS.items() for answer in answers]
)
def test_verdict_on_each_kind_of_answer(status: int, body: bytes, action: str) -> None:
    assert judge(status, body).action == action


def test_verdict_carries_retry_after() -> None:
    assert judge(429, b"", "3").retry_after == 3.0
    assert judge(503, b"", None).retry_after is None


def test_backoff_doubles_up_to_its_cap_and_retry_after_wins() -> None:
    policy = replace(DECLARED, backoff=1, backoff_max=5)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
    assert policy.delay(4, retry_after=2.5) == 2.5


def test_retry_policy_reads_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__PULL_TIMEOUT", "3")
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__PULL_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__PULL_BACKOFF", "0.5")
    assert RetryPolicy.from_settings() == replace(DECLARED, timeout=3, max_attempts=2, backoff=0.5)


# -- the fetch loop, scripted ------------------------------------------------------------------------


@dataclass
class FakeResponse:
    status_code: int
    content: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ScriptedClient:
    """Answers each GET with the next scripted response (or raises the scripted exception)."""

    script: list[Any]
    provider: str = "Twilio"
    credential_hint: str = "login = Account SID"
    conn_id: str = "twilio_test"
    calls: list[tuple[str, dict[str, str] | None]] = field(default_factory=list)

    def fetch(self, endpoint: str, params: Mapping[str, str] | None, timeout: float) -> Any:
        self.calls.append((endpoint, dict(params) if params is not None else None))
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    # Twilio hook methods used by pull_twilio.
    def account_sid(self, override: str | None = None) -> str:
        return override or "AC1"

    @staticmethod
    def messages_endpoint(account_sid: str) -> str:
        return f"/2010-04-01/Accounts/{account_sid}/Messages.json"


FAST = RetryPolicy(timeout=1, max_attempts=4, backoff=1, backoff_max=10, max_wait=20)


def test_rate_limit_waits_what_the_provider_asked() -> None:
    slept: list[float] = []
    client = ScriptedClient([FakeResponse(429, headers={"Retry-After": "3"}), FakeResponse(200, b'{"a": 1}')])
    body, document = fetch_page(client, "/x", None, FAST, sleep=slept.append)
    assert (body, document, slept) == (b'{"a": 1}', {"a": 1}, [3.0])


def test_server_errors_and_timeouts_back_off_exponentially() -> None:
    slept: list[float] = []
    client = ScriptedClient(
        [FakeResponse(502), requests.ReadTimeout("slow"), requests.ConnectionError("reset"), FakeResponse(200)]
    )
    fetch_page(client, "/x", None, FAST, sleep=slept.append)
    assert slept == [1, 2, 4]


def test_attempts_are_bounded_and_the_error_says_what_failed() -> None:
    client = ScriptedClient([FakeResponse(500, b"boom")] * 4)
    with pytest.raises(PullError, match=r"Twilio GET /x: gave up after 4 attempts: HTTP 500: boom"):
        fetch_page(client, "/x", None, FAST, sleep=lambda s: None)


def test_a_retry_after_beyond_the_budget_gives_up_at_once() -> None:
    client = ScriptedClient([FakeResponse(429, headers={"Retry-After": "3600"})])
    with pytest.raises(PullError, match="would wait 3600s more"):
        fetch_page(client, "/x", None, FAST, sleep=lambda s: pytest.fail("must not sleep"))
    assert len(client.calls) == 1


def test_total_wait_is_bounded() -> None:
    policy = replace(DECLARED, max_attempts=10, backoff=4, backoff_max=10, max_wait=10)
    slept: list[float] = []
    with pytest.raises(PullError, match="pull_max_wait"):
        fetch_page(ScriptedClient([FakeResponse(503)] * 10), "/x", None, policy, sleep=slept.append)
    assert sum(slept) <= 10


def test_a_rejected_credential_fails_at_once_naming_the_connection() -> None:
    client = ScriptedClient([FakeResponse(401, b'{"code": 20003, "message": "Authenticate"}')])
    with pytest.raises(CredentialRejected, match="credential rejected by Twilio: check connection 'twilio_test'"):
        fetch_page(client, "/x", None, FAST, sleep=lambda s: pytest.fail("must not sleep"))
    assert len(client.calls) == 1


def test_a_refused_request_is_not_retried() -> None:
    with pytest.raises(RequestRejected, match="HTTP 400"):
        fetch_page(ScriptedClient([FakeResponse(400, b"bad")]), "/x", None, FAST, sleep=lambda s: None)


def test_a_broken_body_is_handed_over_before_the_retry() -> None:
    kept: list[bytes] = []
    client = ScriptedClient([FakeResponse(200, b'{"results": [{"mess'), FakeResponse(200, b'{"results": []}')])
    fetch_page(client, "/x", None, FAST, sleep=lambda s: None, on_broken=kept.append)
    assert kept == [b'{"results": [{"mess']


# -- page store and page loops -----------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> PageStore:
    from sms_tracking.ingest import landing_path

    return PageStore(landing_path(str(tmp_path)) / "pulled" / "w1")


def test_pages_are_named_by_number_and_a_rewrite_replaces_the_page(store: PageStore) -> None:
    first = store.write(1, b'{"v": 1}')
    assert first.endswith("/pulled/w1/page-00001.json")
    assert store.write(1, b'{"v": 2}') == first
    assert (store.folder / "page-00001.json").read_bytes() == b'{"v": 2}\n'
    store.write(7, b"{}")
    assert store.numbers() == [1, 7] and store.next_number() == 8


def test_a_kept_broken_body_is_not_loaded(store: PageStore) -> None:
    store.write(1, b"{}")
    kept = store.keep_broken(2, b'{"results": [')
    assert "/.broken-page-00002.json." in kept
    assert list_objects(store.folder) == [str(store.folder / "page-00001.json")]
    assert store.next_number() == 2


def page(messages: list[dict[str, Any]], next_uri: str | None) -> FakeResponse:
    return FakeResponse(200, json.dumps({"messages": messages, "next_page_uri": next_uri, "page": 0}).encode())


WINDOW = Window(datetime(2026, 5, 3, 23, 30, tzinfo=UTC), datetime(2026, 5, 4, 12, tzinfo=UTC))
TWILIO_OPTIONS = {"page_size": 2, "account_sid": None}


def test_twilio_follows_next_page_uri_and_filters_by_the_first_day(store: PageStore) -> None:
    client = ScriptedClient(
        [
            page([{"sid": "SM1"}, {"sid": "SM2"}], "/2010-04-01/Accounts/AC1/Messages.json?Page=1&PageToken=PASM2"),
            page([{"sid": "SM3"}], None),
        ]
    )
    uris, messages = pull.pull_twilio(client, store, WINDOW, TWILIO_OPTIONS, FAST)
    assert messages == 3 and [u.rsplit("/", 1)[1] for u in uris] == ["page-00001.json", "page-00002.json"]
    assert client.calls == [
        ("/2010-04-01/Accounts/AC1/Messages.json", {"DateSent>": "2026-05-03", "PageSize": "2"}),
        ("/2010-04-01/Accounts/AC1/Messages.json?Page=1&PageToken=PASM2", None),
    ]


def test_twilio_empty_window_stores_nothing(store: PageStore) -> None:
    assert pull.pull_twilio(ScriptedClient([page([], None)]), store, WINDOW, TWILIO_OPTIONS, FAST) == ([], 0)
    assert not store.folder.exists()


def test_twilio_paging_loop_is_an_error(store: PageStore) -> None:
    loop = "/2010-04-01/Accounts/AC1/Messages.json?Page=1"
    client = ScriptedClient([page([{"sid": "SM1"}], loop), page([{"sid": "SM2"}], loop)])
    with pytest.raises(PullError, match="paging loop"):
        pull.pull_twilio(client, store, WINDOW, TWILIO_OPTIONS, FAST)


def test_twilio_page_without_messages_is_an_error(store: PageStore) -> None:
    client = ScriptedClient([FakeResponse(200, b'{"code": 20404}')])
    with pytest.raises(PullError, match="no messages list"):
        pull.pull_twilio(client, store, WINDOW, TWILIO_OPTIONS, FAST)


def results(count: int) -> FakeResponse:
    return FakeResponse(200, json.dumps({"results": [{"messageId": str(i)} for i in range(count)]}).encode())


INFOBIP = {"limit": 2, "max_pages": 10, "endpoint": "/sms/1/reports"}


def test_infobip_drains_until_a_short_page(store: PageStore) -> None:
    client = ScriptedClient([results(2), results(2), results(1)], provider="Infobip")
    uris, reports = pull.pull_infobip(client, store, WINDOW, INFOBIP, FAST)
    assert reports == 5 and len(uris) == 3
    assert client.calls == [("/sms/1/reports", {"limit": "2"})] * 3


def test_infobip_never_overwrites_a_stored_page(store: PageStore) -> None:
    store.write(1, b'{"results": [{"messageId": "kept"}]}')
    uris, _ = pull.pull_infobip(ScriptedClient([results(1)], provider="Infobip"), store, WINDOW, INFOBIP, FAST)
    assert uris == [str(store.folder / "page-00002.json")]
    assert b"kept" in (store.folder / "page-00001.json").read_bytes()


def test_infobip_stops_at_max_pages(store: PageStore) -> None:
    client = ScriptedClient([results(2)] * 3, provider="Infobip")
    uris, _ = pull.pull_infobip(client, store, WINDOW, {**INFOBIP, "max_pages": 2}, FAST)
    assert len(uris) == 2 and len(client.script) == 1


def test_infobip_empty_queue_stores_nothing(store: PageStore) -> None:
    assert pull.pull_infobip(ScriptedClient([results(0)], provider="Infobip"), store, WINDOW, INFOBIP, FAST) == ([], 0)


# -- api sources in the sources file -----------------------------------------------------------------


def sources_file(tmp_path: Path, entry: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n" + entry, encoding="utf-8")
    return path


def test_an_api_source_takes_its_format_from_the_provider(tmp_path: Path) -> None:
    path = sources_file(
        tmp_path,
        """
  - name: twilio_pull
    provider: twilio
    transport: api
    conn_id: twilio_main
    path: reports/twilio_pull
    options: {page_size: 500, lookback: 6h}
  - name: smpp_main
    provider: smpp
    format: smpp
    path: reports/smpp_main
""",
    )
    pulled, files = load_sources(path)
    assert (pulled.transport, pulled.conn_id, pulled.format) == ("api", "twilio_main", "twilio_json")
    assert (files.transport, files.conn_id) == ("files", None)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: a, provider: twilio, transport: api, path: p}", "missing conn_id"),
        ("{name: a, provider: vonage, transport: api, conn_id: c, path: p}", "provider 'vonage' has no API pull"),
        (
            "{name: a, provider: twilio, format: twilio_callback, transport: api, conn_id: c, path: p}",
            "answers format 'twilio_json', not 'twilio_callback'",
        ),
        (
            "{name: a, provider: infobip, transport: api, conn_id: c, path: p, options: {limit: 5000}}",
            r"\(a\): option limit '5000'",
        ),
        ("{name: a, provider: smpp, format: smpp, conn_id: c, path: p}", "conn_id is for transport api"),
        ("{name: a, provider: twilio, transport: ftp, path: p}", "transport: Input should be 'files' or 'api'"),
    ],
)
def test_a_wrong_api_source_names_the_source_and_the_field(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_sources(sources_file(tmp_path, f"  - {entry}\n"))


# -- hooks: how each provider's credential is sent (no request is made) ------------------------------


def test_twilio_hook_defaults_to_twilios_host_and_basic_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    from requests.auth import HTTPBasicAuth

    from sms_tracking.hooks.twilio import TwilioHook

    monkeypatch.setenv("AIRFLOW_CONN_TWILIO_UNIT", json.dumps({"conn_type": "http", "login": "AC1", "password": "t0k"}))
    hook = TwilioHook("twilio_unit")
    session = hook.get_conn()
    assert hook.base_url == "https://api.twilio.com"
    assert isinstance(session.auth, HTTPBasicAuth) and (session.auth.username, session.auth.password) == ("AC1", "t0k")
    assert hook.account_sid() == "AC1" and hook.account_sid("AC2") == "AC2"
    assert TwilioHook.messages_endpoint("AC1") == "/2010-04-01/Accounts/AC1/Messages.json"


def test_infobip_hook_sends_the_api_key_or_basic_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    from sms_tracking.hooks.infobip import InfobipHook

    host = "https://x.api.infobip.com"
    monkeypatch.setenv("AIRFLOW_CONN_IB_KEY", json.dumps({"conn_type": "http", "host": host, "password": "k3y-12345"}))
    monkeypatch.setenv(
        "AIRFLOW_CONN_IB_BASIC", json.dumps({"conn_type": "http", "host": host, "login": "u", "password": "p4ss-12345"})
    )
    monkeypatch.setenv("AIRFLOW_CONN_IB_EMPTY", json.dumps({"conn_type": "http", "host": host}))
    keyed = InfobipHook("ib_key").get_conn()
    assert keyed.headers["Authorization"] == "App k3y-12345" and keyed.auth is None
    basic = InfobipHook("ib_basic").get_conn()
    assert "Authorization" not in basic.headers and basic.auth is not None
    with pytest.raises(ValueError, match="connection 'ib_empty' has no password: put the Infobip API key there"):
        InfobipHook("ib_empty").get_conn()
