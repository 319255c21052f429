"""Pulling Infobip's delivery reports from a fake Infobip on 127.0.0.1 into a real Postgres.

Infobip hands each report out once, so what these tests prove is that every report handed out is stored
before the next call, that a retried pull never overwrites a stored page, and that stored pages are
loaded even by a later run when this one failed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.fakes.harness import configure, count, load_pending, run_source, watermark
from tests.fakes.infobip_api import API_KEY, InfobipApi, generated_reports, sample_reports

from sms_tracking import pull
from sms_tracking.ingest import landing_path, list_objects
from sms_tracking.pipeline import source_by_name
from sms_tracking.pull import CredentialRejected, PullError

pytestmark = pytest.mark.integration

SOURCE = "infobip_pull"
UNTIL = datetime(2026, 5, 4, 12, tzinfo=UTC)
SOURCES = f"""
sources:
  - name: {SOURCE}
    provider: infobip
    transport: api
    conn_id: infobip_test
    path: reports/{SOURCE}
    options:
      limit: 10
"""
REPORTS = "SELECT count(*) FROM sms_tracking.report WHERE provider = 'infobip'"


@pytest.fixture
def infobip(dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InfobipApi]:
    fake = InfobipApi([*sample_reports(), *generated_reports(22, datetime(2026, 5, 4, 9, tzinfo=UTC))])
    with fake.running():
        configure(
            monkeypatch,
            tmp_path,
            SOURCES,
            {"infobip_test": {"conn_type": "http", "host": fake.url, "password": API_KEY}},
        )
        yield fake


def pages() -> list[str]:
    return list_objects(pull.source_folder(source_by_name(SOURCE)))


def test_the_queue_is_drained_page_by_page_and_loaded(dsn: str, infobip: InfobipApi) -> None:
    run = run_source(SOURCE, UNTIL, dsn)
    bodies = [json.loads(landing_path(uri).read_text()) for uri in run["pulled"]["pages"]]
    assert [len(body["results"]) for body in bodies] == [10, 10, 3]
    assert not infobip.queue and len(infobip.handed_out) == 23
    assert count(dsn, REPORTS) == 23
    assert count(dsn, f"{REPORTS} AND raw_error = 'EC_ABSENT_SUBSCRIBER'") == 7
    assert all(r.headers["authorization"] == f"App {API_KEY}" for r in infobip.requests)
    assert all(dict(r.params) == {"limit": "10"} for r in infobip.requests)
    assert watermark(dsn, SOURCE) == UNTIL


def test_a_retried_pull_adds_pages_and_never_overwrites_one(dsn: str, infobip: InfobipApi) -> None:
    first = pull.pull(SOURCE, UNTIL, dsn=dsn)
    stored = {uri: landing_path(uri).read_bytes() for uri in first["pages"]}
    infobip.add(generated_reports(4, datetime(2026, 5, 4, 11, tzinfo=UTC), prefix="LATE"))
    retried = pull.pull(SOURCE, UNTIL, dsn=dsn)
    assert [u.rsplit("/", 1)[1] for u in retried["pages"]] == ["page-00004.json"]
    assert all(landing_path(uri).read_bytes() == body for uri, body in stored.items())
    load_pending(SOURCE, dsn)
    pull.advance_watermark(SOURCE, retried, dsn=dsn)
    assert count(dsn, REPORTS) == 27


def test_pages_stored_by_a_failed_run_are_loaded_by_the_next(dsn: str, infobip: InfobipApi) -> None:
    infobip.ok(1)
    infobip.server_error(3)
    with pytest.raises(PullError, match="gave up after 3 attempts: HTTP 500"):
        run_source(SOURCE, UNTIL, dsn)
    assert len(pages()) == 1 and watermark(dsn, SOURCE) is None
    later = UNTIL + timedelta(hours=1)
    run = run_source(SOURCE, later, dsn)
    assert len(run["loaded"]) == 3  # the page of the failed run and the two of this one
    assert count(dsn, REPORTS) == 23
    assert watermark(dsn, SOURCE) == later


def test_loading_twice_or_a_copied_page_adds_no_report(dsn: str, infobip: InfobipApi) -> None:
    run = run_source(SOURCE, UNTIL, dsn)
    assert load_pending(SOURCE, dsn) == []
    copy = landing_path(run["pulled"]["pages"][0]).parent / "page-00099.json"
    copy.write_bytes(landing_path(run["pulled"]["pages"][0]).read_bytes())
    (again,) = load_pending(SOURCE, dsn)
    assert (again["rows_loaded"], again["rows_duplicate"]) == (0, 10)
    assert count(dsn, REPORTS) == 23


def test_rate_limits_and_server_errors_are_retried(dsn: str, infobip: InfobipApi) -> None:
    infobip.rate_limit(1, retry_after="1")
    infobip.ok(1)
    infobip.server_error(1, status=502)
    run_source(SOURCE, UNTIL, dsn)
    assert infobip.requests[1].at - infobip.requests[0].at >= 0.95
    assert len(infobip.requests) == 5
    assert count(dsn, REPORTS) == 23


def test_a_revoked_key_fails_the_task_at_once_naming_the_connection(dsn: str, infobip: InfobipApi) -> None:
    infobip.revoke()
    with pytest.raises(CredentialRejected, match="credential rejected by Infobip: check connection 'infobip_test'"):
        run_source(SOURCE, UNTIL, dsn)
    assert len(infobip.requests) == 1 and len(infobip.queue) == 23


def test_a_truncated_body_is_kept_out_of_the_load_and_the_pull_goes_on(dsn: str, infobip: InfobipApi) -> None:
    infobip.truncate(1)
    run = run_source(SOURCE, UNTIL, dsn)
    # The ten reports of the broken answer left Infobip's queue with it: only the kept body has them.
    folder = pull.source_folder(source_by_name(SOURCE))
    (broken,) = folder.rglob(".broken-*")
    assert broken.name.startswith(".broken-page-00001.json.") and b'"messageId"' in broken.read_bytes()
    assert [u.rsplit("/", 1)[1] for u in run["pulled"]["pages"]] == ["page-00001.json", "page-00002.json"]
    assert count(dsn, REPORTS) == 13
    assert count(dsn, "SELECT count(*) FROM sms_tracking.reject") == 0


def test_truncated_every_time_fails_with_a_clear_error(dsn: str, infobip: InfobipApi) -> None:
    infobip.truncate(3)
    with pytest.raises(PullError, match=r"gave up after 3 attempts: invalid JSON \(truncated\?\)"):
        run_source(SOURCE, UNTIL, dsn)
    assert pages() == [] and watermark(dsn, SOURCE) is None


def test_a_slow_answer_times_out_and_is_retried(dsn: str, infobip: InfobipApi) -> None:
    infobip.slow(1.5)
    run_source(SOURCE, UNTIL, dsn)
    assert count(dsn, REPORTS) == 23
