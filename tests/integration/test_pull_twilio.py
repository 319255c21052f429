"""Pulling Twilio's Messages list from a fake Twilio on 127.0.0.1 into a real Postgres: paging, re-reads,
the watermark, and each fault the pull must survive or report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.fakes.harness import configure, count, load_pending, run_source, watermark
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, TwilioApi, generated_messages, sample_messages
from tests.project import PROJECT

from sms_tracking import pull
from sms_tracking.ingest import BatchRejected, landing_path, list_objects
from sms_tracking.pipeline import source_by_name
from sms_tracking.pull import CredentialRejected, PullError

pytestmark = pytest.mark.integration

SOURCE = "twilio_pull"
UNTIL = datetime(2026, 5, 4, 12, tzinfo=UTC)
YESTERDAY = generated_messages(20, datetime(2026, 5, 3, 20, tzinfo=UTC))
TODAY = generated_messages(10, datetime(2026, 5, 4, 9, tzinfo=UTC))
SOURCES = f"""
sources:
  - name: {SOURCE}
    provider: twilio
    transport: api
    conn_id: twilio_test
    path: reports/{SOURCE}
    options:
      page_size: 10
      lookback: 2h
      start: "2015-01-01"
"""
REPORTS = "SELECT count(*) FROM sms_tracking.report WHERE provider = 'twilio'"


@pytest.fixture
def twilio(dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TwilioApi]:
    fake = TwilioApi([*sample_messages(), *YESTERDAY, *TODAY])
    with fake.running():
        configure(
            monkeypatch,
            tmp_path,
            SOURCES,
            {"twilio_test": {"conn_type": "http", "host": fake.url, "login": ACCOUNT_SID, "password": AUTH_TOKEN}},
        )
        yield fake


def dated_messages(fake: TwilioApi) -> int:
    return sum(1 for m in fake.messages.values() if m.get("date_sent"))


def test_every_page_is_stored_as_received_and_loaded(dsn: str, twilio: TwilioApi) -> None:
    run = run_source(SOURCE, UNTIL, dsn)
    pages = run["pulled"]["pages"]
    total = dated_messages(twilio)  # the scheduled sample has no date_sent: DateSent filters it out
    assert run["pulled"]["records"] == total == 4 + 7 + 30
    assert len(pages) == 5 and pages[0].endswith("/pulled/20150101T000000Z-20260504T120000Z/page-00001.json")
    for uri in pages:
        text = landing_path(uri).read_text()
        assert text.count("\n") == 1
        assert {"messages", "next_page_uri", "page", "page_size", "uri"} <= json.loads(text).keys()
    # One inbound sample (status received); every other message is a delivery report.
    assert count(dsn, REPORTS) == total - 1
    assert count(dsn, "SELECT count(*) FROM sms_tracking.inbound_message WHERE provider = 'twilio'") == 1
    assert watermark(dsn, SOURCE) == UNTIL
    first = twilio.requests[0]
    assert dict(first.params) == {"DateSent>": "2015-01-01", "PageSize": "10"}
    assert first.headers["authorization"].startswith("Basic ")
    assert all(dict(r.params).get("PageToken") for r in twilio.requests[1:])


def test_re_reading_pages_adds_no_report(dsn: str, twilio: TwilioApi) -> None:
    # A retried pull of the same run rewrites the same objects...
    first = pull.pull(SOURCE, UNTIL, dsn=dsn)
    assert pull.pull(SOURCE, UNTIL, dsn=dsn)["pages"] == first["pages"]
    load_pending(SOURCE, dsn)
    pull.advance_watermark(SOURCE, first, dsn=dsn)
    reports = count(dsn, REPORTS)
    # ...and the next run re-reads the look-back (here: all of today) as new objects of known reports.
    asked = len(twilio.requests)
    again = run_source(SOURCE, UNTIL + timedelta(hours=1), dsn)
    assert dict(twilio.requests[asked].params)["DateSent>"] == "2026-05-04"
    assert len(again["loaded"]) == 1
    assert sum(r["rows_loaded"] for r in again["loaded"]) == 0
    assert sum(r["rows_duplicate"] for r in again["loaded"]) == len(TODAY)
    assert count(dsn, REPORTS) == reports


def test_a_later_status_within_the_look_back_is_read(dsn: str, twilio: TwilioApi) -> None:
    run_source(SOURCE, UNTIL, dsn)
    sid = TODAY[2]["sid"]  # sent
    twilio.update(sid, "delivered", None, UNTIL + timedelta(minutes=20))
    run_source(SOURCE, UNTIL + timedelta(hours=1), dsn)
    assert count(dsn, f"{REPORTS} AND provider_message_id = %s", sid) == 2
    assert count(dsn, f"{REPORTS} AND provider_message_id = %s AND raw_status = 'delivered'", sid) == 1
    assert watermark(dsn, SOURCE) == UNTIL + timedelta(hours=1)


def test_the_watermark_moves_only_once_every_page_is_loaded(dsn: str, twilio: TwilioApi) -> None:
    pulled = pull.pull(SOURCE, UNTIL, dsn=dsn)
    with pytest.raises(PullError, match=r"5 of 5 pages of window .* are not loaded .* watermark stays at None"):
        pull.advance_watermark(SOURCE, pulled, dsn=dsn)
    # A page whose content does not load (rejected) keeps it where it is too.
    landing_path(pulled["pages"][3]).write_text("not json\n" * 3)
    with pytest.raises(BatchRejected):
        load_pending(SOURCE, dsn)
    with pytest.raises(PullError, match="1 of 5 pages"):
        pull.advance_watermark(SOURCE, pulled, dsn=dsn)
    assert watermark(dsn, SOURCE) is None
    # The next try of the run reads the page again and completes.
    assert run_source(SOURCE, UNTIL, dsn)["advanced"]["watermark"] == UNTIL.isoformat()


def test_a_failure_mid_window_leaves_the_watermark_and_the_rerun_completes(dsn: str, twilio: TwilioApi) -> None:
    twilio.ok(2)
    twilio.server_error(3)
    with pytest.raises(PullError, match=r"gave up after 3 attempts: HTTP 500"):
        run_source(SOURCE, UNTIL, dsn)
    assert watermark(dsn, SOURCE) is None
    folder = pull.source_folder(source_by_name(SOURCE))
    assert sorted(p.name for p in (folder / "pulled").rglob("page-*")) == ["page-00001.json", "page-00002.json"]
    # The task's retry reads the same window into the same objects and completes it.
    run = run_source(SOURCE, UNTIL, dsn)
    assert len(run["pulled"]["pages"]) == len(list_objects(folder)) == 5
    assert watermark(dsn, SOURCE) == UNTIL


def test_rate_limit_waits_the_retry_after_twilio_sent(dsn: str, twilio: TwilioApi) -> None:
    twilio.rate_limit(1, retry_after="1")
    run_source(SOURCE, UNTIL, dsn)
    limited, retried = twilio.requests[0], twilio.requests[1]
    assert limited.params == retried.params
    assert retried.at - limited.at >= 0.95
    assert count(dsn, REPORTS) == dated_messages(twilio) - 1


def test_server_errors_are_retried_with_backoff(dsn: str, twilio: TwilioApi) -> None:
    twilio.ok(2)
    twilio.server_error(2, status=503)
    run_source(SOURCE, UNTIL, dsn)
    third_page = [r for r in twilio.requests if dict(r.params).get("Page") == "2"]
    assert len(third_page) == 3
    assert third_page[2].at - third_page[1].at >= third_page[1].at - third_page[0].at >= 0.05
    assert watermark(dsn, SOURCE) == UNTIL


def test_a_rejected_credential_fails_the_task_at_once_naming_the_connection(dsn: str, twilio: TwilioApi) -> None:
    twilio.revoke()
    with pytest.raises(CredentialRejected) as failure:
        run_source(SOURCE, UNTIL, dsn)
    message = str(failure.value)
    assert "credential rejected by Twilio: check connection 'twilio_test'" in message
    assert "HTTP 401" in message and "20003" in message
    assert len(twilio.requests) == 1
    assert watermark(dsn, SOURCE) is None


def test_truncated_json_is_retried_and_never_stored(dsn: str, twilio: TwilioApi) -> None:
    twilio.ok(1)
    twilio.truncate(1)
    run = run_source(SOURCE, UNTIL, dsn)
    assert all(r["rows_rejected"] == 0 for r in run["loaded"])
    assert count(dsn, REPORTS) == dated_messages(twilio) - 1


def test_truncated_json_every_time_fails_with_a_clear_error(dsn: str, twilio: TwilioApi) -> None:
    twilio.truncate(3)
    with pytest.raises(PullError, match=r"gave up after 3 attempts: invalid JSON \(truncated\?\)"):
        run_source(SOURCE, UNTIL, dsn)
    assert list_objects(pull.source_folder(source_by_name(SOURCE))) == []
    assert watermark(dsn, SOURCE) is None


def test_a_slow_answer_times_out_and_is_retried(dsn: str, twilio: TwilioApi) -> None:
    twilio.slow(1.5)
    run_source(SOURCE, UNTIL, dsn)
    assert twilio.requests[1].at - twilio.requests[0].at >= 0.5
    assert watermark(dsn, SOURCE) == UNTIL


def test_no_answer_at_all_fails_and_keeps_the_watermark(dsn: str, twilio: TwilioApi) -> None:
    run_source(SOURCE, UNTIL, dsn)
    twilio.slow(1.0, times=3)
    with pytest.raises(PullError, match=r"gave up after 3 attempts: no response within 0.5s"):
        run_source(SOURCE, UNTIL + timedelta(hours=1), dsn)
    assert watermark(dsn, SOURCE) == UNTIL


# One real run of the generated DAG (dag.test, in process): about a minute.
@pytest.mark.airflow
def test_the_generated_dag_pulls_loads_and_moves_the_watermark(
    dsn: str, airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    today = datetime.now(UTC).replace(hour=0, minute=5, second=0, microsecond=0)
    fake = TwilioApi(generated_messages(25, today))
    with fake.running():
        configure(
            monkeypatch,
            tmp_path,
            SOURCES.replace('start: "2015-01-01"', "lookback: 2h"),
            {"twilio_test": {"conn_type": "http", "host": fake.url, "login": ACCOUNT_SID, "password": AUTH_TOKEN}},
        )
        dag = DagBag(dag_folder=str(PROJECT / "dags" / "sms_tracking_ingest.py")).dags[f"sms_tracking_ingest_{SOURCE}"]
        run = dag.test()
        assert run.state == "success"
        assert count(dsn, REPORTS) == 25
        first = watermark(dsn, SOURCE)
        assert first is not None
        # A window without a message maps no load task; the watermark still moves.
        fake.messages.clear()
        run = dag.test()
        states = {ti.task_id: ti.state for ti in run.get_task_instances()}
        assert states["load_object"] == "skipped" and states["advance_watermark"] == "success"
        assert watermark(dsn, SOURCE) > first  # type: ignore[operator]
