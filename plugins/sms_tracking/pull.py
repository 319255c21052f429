"""Pulling delivery reports from provider APIs into the landing location (docs/pull.md).

A pull stores every page it reads, byte for byte on one line, as one landing object under
``<source.path>/pulled/<window>/page-NNNNN.json``; the source's normal load path then loads those
objects. Re-reading a page therefore yields the same object or the same reports, which the load
deduplicates. The watermark moves in the DAG's last task, and only when every page of the window is
loaded, so a failure anywhere leaves it where it was and the next run reads the window again.

The parts that decide (options, window, retry verdicts, delays, page naming) are pure functions;
the loop that calls the API, the page store and the watermark do the I/O.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol

from airflow.sdk.exceptions import AirflowFailException

from sms_tracking.settings import parse_duration

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from sms_tracking.audit import RunInfo
    from sms_tracking.config import Source
    from sms_tracking.settings import Settings

log = logging.getLogger(__name__)

PULLED_FOLDER = "pulled"
PAGE_PATTERN = re.compile(r"^page-(\d{5,})\.json$")


# --------------------------------------------------------------------------------------------------
# Errors


class PullError(Exception):
    """The pull could not finish now (retries exhausted, an unreadable page): a later try may succeed."""


class CredentialRejected(AirflowFailException):
    """The provider refused the connection's credential: no retry can help, the connection must change."""


class RequestRejected(AirflowFailException):
    """The provider refused the request itself (a 4xx other than 401/403/408/429): a configuration error."""


# --------------------------------------------------------------------------------------------------
# Options of an api source (checked by config.load_sources at parse time)


@dataclass(frozen=True)
class ApiSpec:
    """What one provider's API pull needs: the format its pages are in and the options it takes."""

    provider: str
    format: str
    defaults: Mapping[str, str]


API_SPECS: dict[str, ApiSpec] = {
    "twilio": ApiSpec("twilio", "twilio_json", {"page_size": "1000", "lookback": "1d", "start": "", "account_sid": ""}),
    "infobip": ApiSpec("infobip", "infobip_json", {"limit": "1000", "max_pages": "100", "endpoint": "/sms/1/reports"}),
}
"""Providers whose reports can be pulled, keyed by the source's ``provider``."""


def parse_start(text: str) -> datetime:
    """An ISO date or date-time; without a zone it is UTC (Twilio's dates are GMT)."""
    value = datetime.fromisoformat(text.strip())
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _whole(options: Mapping[str, str], name: str, low: int, high: int) -> int:
    text = options[name]
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise ValueError(f"option {name} {text!r} must be a whole number from {low} to {high}")
    return int(text)


def pull_options(provider: str, options: Mapping[str, str]) -> dict[str, Any]:
    """The pull options of an api source, defaults applied and values checked; a mistake names the option."""
    spec = API_SPECS.get(provider)
    if spec is None:
        raise ValueError(f"provider {provider!r} has no API pull; transport api supports {sorted(API_SPECS)}")
    merged = {**spec.defaults, **{k: v for k, v in options.items() if k in spec.defaults}}
    if provider == "twilio":
        try:
            lookback = parse_duration(merged["lookback"])
        except ValueError as exc:
            raise ValueError(f"option lookback: {exc}") from None
        try:
            start = parse_start(merged["start"]) if merged["start"].strip() else None
        except ValueError:
            raise ValueError(f"option start {merged['start']!r} is not an ISO date such as 2026-05-01") from None
        return {
            # Twilio's PageSize maximum is 1000.
            "page_size": _whole(merged, "page_size", 1, 1000),
            "lookback": lookback,
            "start": start,
            "account_sid": merged["account_sid"].strip() or None,
        }
    endpoint = merged["endpoint"].strip()
    if not endpoint.startswith("/"):
        raise ValueError(f"option endpoint {endpoint!r} must be a path starting with /")
    return {
        # Infobip's limit maximum is 1000 (default 50).
        "limit": _whole(merged, "limit", 1, 1000),
        "max_pages": _whole(merged, "max_pages", 1, 100_000),
        "endpoint": endpoint,
    }


# --------------------------------------------------------------------------------------------------
# The window a pull reads


@dataclass(frozen=True)
class Window:
    """What a pull reads: from ``since`` (the watermark less the look-back) to ``until`` (the run's end)."""

    since: datetime
    until: datetime

    @property
    def name(self) -> str:
        """The folder of the window's pages: the same window always lands in the same place."""
        return f"{self.since:%Y%m%dT%H%M%SZ}-{self.until:%Y%m%dT%H%M%SZ}"


def pull_window(
    watermark: datetime | None, until: datetime, lookback: timedelta = timedelta(), start: datetime | None = None
) -> Window:
    """The window of the next pull; a source without a watermark starts at ``start`` or ``lookback`` ago."""
    until = until.astimezone(UTC).replace(microsecond=0)
    if watermark is not None:
        since = watermark.astimezone(UTC) - lookback
    else:
        since = start if start is not None else until - lookback
    return Window(min(since.astimezone(UTC).replace(microsecond=0), until), until)


def run_end(data_interval_end: datetime | None, run_after: datetime | None, now: datetime | None = None) -> datetime:
    """The end of a run's window: its data interval's end (a manual run has none), never in the future."""
    now = now or datetime.now(UTC)
    end = data_interval_end or run_after or now
    return min(end.astimezone(UTC), now)


def page_name(number: int) -> str:
    return f"page-{number:05d}.json"


def one_line(body: bytes) -> bytes:
    """The page on one line: JSON strings cannot hold raw line breaks, so those are layout only."""
    return body.replace(b"\r", b"").replace(b"\n", b"").strip() + b"\n"


# --------------------------------------------------------------------------------------------------
# Retry policy and the verdict on one response


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one page is tried: the ``pull_*`` options, whose declaration holds the defaults (docs/pull.md)."""

    timeout: float
    """Seconds to wait for the connection and for each read of the response."""
    max_attempts: int
    """Tries of one page, the first included."""
    backoff: float
    """The first delay between tries; it doubles each time."""
    backoff_max: float
    """No delay (backoff or Retry-After) is longer."""
    max_wait: float
    """Total seconds one page may spend waiting between tries; a longer Retry-After gives up at once."""

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> RetryPolicy:
        """The configured policy (the ``pull_*`` options of ``[sms_tracking]``)."""
        from sms_tracking.settings import get_settings

        settings = settings or get_settings()
        return cls(**{f.name: getattr(settings, f"pull_{f.name}") for f in fields(cls)})

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before try ``attempt + 1``: what the provider asked for, else exponential backoff."""
        if retry_after is not None:
            return max(0.0, retry_after)
        return min(self.backoff_max, self.backoff * 2 ** (attempt - 1))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class Verdict:
    """What to do with a response: use it (``document``), try again, or stop with an error."""

    action: str
    """``ok``, ``retry``, ``credential`` (401/403) or ``reject`` (another 4xx)."""
    reason: str = ""
    retry_after: float | None = None
    document: dict[str, Any] | None = None


def judge(status: int, body: bytes, retry_after: str | None = None) -> Verdict:
    """The verdict on one HTTP response; a 2xx whose body is not a whole JSON object is retried."""
    excerpt = body[:300].decode("utf-8", "replace")
    if status in (401, 403):
        return Verdict("credential", f"HTTP {status}: {excerpt}")
    if status == 429 or status == 408 or status >= 500:
        return Verdict("retry", f"HTTP {status}: {excerpt}", parse_retry_after(retry_after))
    if not 200 <= status < 300:
        return Verdict("reject", f"HTTP {status}: {excerpt}")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return Verdict("retry", f"invalid JSON (truncated?) in a {len(body)}-byte body: {exc}")
    if not isinstance(document, dict):
        return Verdict("retry", f"expected a JSON object, got {type(document).__name__}")
    return Verdict("ok", document=document)


# --------------------------------------------------------------------------------------------------
# Fetching one page with retries


class PageClient(Protocol):
    """The hook side of a pull: one GET, the response returned whatever its status."""

    provider: str
    credential_hint: str

    @property
    def conn_id(self) -> str: ...

    def fetch(self, endpoint: str, params: Mapping[str, str] | None, timeout: float) -> Any: ...


def fetch_page(
    client: PageClient,
    endpoint: str,
    params: Mapping[str, str] | None,
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_broken: Callable[[bytes], None] | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """One page's body and document, retried on 429, 408, 5xx, timeouts and broken JSON.

    ``on_broken`` receives the body of a 2xx that is not JSON before it is retried (Infobip keeps it).
    """
    import requests

    waited = 0.0
    what = f"{client.provider} GET {endpoint}"
    for attempt in range(1, policy.max_attempts + 1):
        try:
            response = client.fetch(endpoint, params, policy.timeout)
        except requests.Timeout:
            verdict = Verdict("retry", f"no response within {policy.timeout:g}s")
        except requests.RequestException as exc:
            verdict = Verdict("retry", f"{type(exc).__name__}: {exc}")
        else:
            verdict = judge(response.status_code, response.content, response.headers.get("Retry-After"))
            if verdict.action == "retry" and 200 <= response.status_code < 300 and on_broken is not None:
                on_broken(response.content)
        if verdict.action == "ok":
            assert verdict.document is not None
            return response.content, verdict.document
        if verdict.action == "credential":
            raise CredentialRejected(
                f"credential rejected by {client.provider}: check connection {client.conn_id!r} "
                f"({client.credential_hint}). {what} answered {verdict.reason}"
            )
        if verdict.action == "reject":
            raise RequestRejected(f"{what} refused the request: {verdict.reason}")
        delay = policy.delay(attempt, verdict.retry_after)
        if attempt == policy.max_attempts:
            raise PullError(f"{what}: gave up after {attempt} attempts: {verdict.reason}")
        if delay > policy.backoff_max or waited + delay > policy.max_wait:
            raise PullError(
                f"{what}: would wait {delay:g}s more after {attempt} attempts ({waited:g}s waited), beyond "
                f"[sms_tracking] pull_backoff_max {policy.backoff_max:g}s / pull_max_wait "
                f"{policy.max_wait:g}s: {verdict.reason}"
            )
        log.warning("%s: attempt %d failed (%s); retrying in %.1fs", what, attempt, verdict.reason, delay)
        sleep(delay)
        waited += delay
    raise AssertionError("unreachable")  # pragma: no cover


# --------------------------------------------------------------------------------------------------
# Page storage


class PageStore:
    """The pages of one window: ``<source folder>/pulled/<window>/page-NNNNN.json``, written whole."""

    def __init__(self, folder: ObjectStoragePath) -> None:
        self.folder = folder

    def numbers(self) -> list[int]:
        if not self.folder.exists():
            return []
        found = (PAGE_PATTERN.match(p.name) for p in self.folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def next_number(self) -> int:
        """The number after the window's last page, so nothing already stored is overwritten."""
        return max(self.numbers(), default=0) + 1

    def write(self, number: int, body: bytes) -> str:
        """Write (or overwrite) page ``number`` through a hidden temporary object, then rename it."""
        return self._write(page_name(number), body)

    def keep_broken(self, number: int, body: bytes) -> str:
        """Keep an unreadable body out of the load (hidden name) for whoever recovers it by hand."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return self._write(f".broken-{page_name(number)}.{stamp}", body, line=False)

    def _write(self, name: str, body: bytes, line: bool = True) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / name
        temporary = self.folder / f".{name}.partial"
        with temporary.open("wb") as stream:
            stream.write(one_line(body) if line else body)
        temporary.rename(final)
        return str(final)


def source_folder(source: Source) -> ObjectStoragePath:
    """The landing folder of a source: its path under the landing location, or its own URL."""
    from sms_tracking.ingest import landing_path
    from sms_tracking.settings import get_settings

    if "://" in source.path:
        return landing_path(source.path)
    return landing_path(get_settings().landing_url, source.path)


# --------------------------------------------------------------------------------------------------
# The providers' page loops


def pull_twilio(
    client: Any, store: PageStore, window: Window, options: Mapping[str, Any], policy: RetryPolicy
) -> tuple[list[str], int]:
    """Every page of the Messages list sent on or after the window's first day; (page URIs, messages).

    Twilio filters ``DateSent`` by day only (``DateSent>=YYYY-MM-DD``, GMT), so the pull reads from
    midnight of the window's start: the look-back is at least covered, the day's rest is re-read and
    deduplicated. There is no upper bound: messages after ``until`` are read now and again next time.
    Pages are numbered from 1 in each window, so a retry of the same run overwrites its own pages.
    """
    endpoint: str | None = client.messages_endpoint(client.account_sid(options.get("account_sid")))
    params: dict[str, str] | None = {
        "DateSent>": window.since.astimezone(UTC).date().isoformat(),
        "PageSize": str(options["page_size"]),
    }
    uris: list[str] = []
    seen: set[str] = set()
    messages = 0
    while endpoint:
        body, document = fetch_page(client, endpoint, params, policy)
        page = document.get("messages")
        if not isinstance(page, list):
            raise PullError(f"Twilio GET {endpoint}: the page has no messages list (keys {sorted(document)[:10]})")
        if page:
            uris.append(store.write(len(uris) + 1, body))
            messages += len(page)
        next_uri = document.get("next_page_uri")
        if next_uri is not None and not isinstance(next_uri, str):
            raise PullError(f"Twilio GET {endpoint}: next_page_uri {next_uri!r} is not a string")
        if next_uri and next_uri in seen:
            raise PullError(f"Twilio GET {endpoint}: next_page_uri {next_uri} was already read (a paging loop)")
        if next_uri:
            seen.add(next_uri)
        endpoint, params = next_uri or None, None
    return uris, messages


def pull_infobip(
    client: Any, store: PageStore, window: Window, options: Mapping[str, Any], policy: RetryPolicy
) -> tuple[list[str], int]:
    """Drain Infobip's queue of new delivery reports, at most ``max_pages`` calls; (page URIs, reports).

    Infobip hands each report out once, so each page is stored before the next call, under a number no
    earlier try used: a retried run adds pages and never overwrites one. A 2xx body that is not JSON is
    kept (hidden from the load) before the retry, because Infobip will not return those reports again.
    """
    uris: list[str] = []
    reports = 0
    limit = int(options["limit"])
    for _ in range(int(options["max_pages"])):
        number = store.next_number()

        def keep(body: bytes, number: int = number) -> None:
            kept = store.keep_broken(number, body)
            log.error("Infobip answered a body that is not JSON; its reports cannot be fetched again: kept in %s", kept)

        body, document = fetch_page(client, options["endpoint"], {"limit": str(limit)}, policy, on_broken=keep)
        results = document.get("results")
        if not isinstance(results, list):
            raise PullError(
                f"Infobip GET {options['endpoint']}: the body has no results list (keys {sorted(document)[:10]})"
            )
        if not results:
            break
        uris.append(store.write(number, body))
        reports += len(results)
        if len(results) < limit:
            break
    else:
        log.warning("Infobip: stopped after max_pages %s pages; the rest waits for the next run", options["max_pages"])
    return uris, reports


PULLERS: dict[str, Callable[..., tuple[list[str], int]]] = {"twilio": pull_twilio, "infobip": pull_infobip}


def hook_for(source: Source) -> Any:
    """The API hook of an api source, on its connection."""
    if source.provider == "twilio":
        from sms_tracking.hooks.twilio import TwilioHook

        return TwilioHook(twilio_conn_id=source.conn_id or TwilioHook.default_conn_name)
    if source.provider == "infobip":
        from sms_tracking.hooks.infobip import InfobipHook

        return InfobipHook(infobip_conn_id=source.conn_id or InfobipHook.default_conn_name)
    raise ValueError(f"source {source.name}: provider {source.provider!r} has no API pull")


# --------------------------------------------------------------------------------------------------
# Watermark and the two DAG tasks


def read_watermark(conn: Any, source: str) -> datetime | None:
    row = conn.execute("SELECT watermark FROM sms_tracking.source_watermark WHERE source = %s", (source,)).fetchone()
    return row[0] if row else None


def pull(source_name: str, until: datetime | None = None, dsn: str | None = None) -> dict[str, Any]:
    """Read the source's API window into landing pages; returns the window and the page URIs (an XCom)."""
    from sms_tracking import db
    from sms_tracking.pipeline import source_by_name

    source = source_by_name(source_name)
    if source.transport != "api":
        raise ValueError(f"source {source_name} has transport {source.transport!r}, not api")
    options = pull_options(source.provider, source.options)
    with closing(db.connect(dsn)) as conn:
        watermark = read_watermark(conn, source.name)
    window = pull_window(
        watermark, until or datetime.now(UTC), options.get("lookback", timedelta()), options.get("start")
    )
    store = PageStore(source_folder(source) / PULLED_FOLDER / window.name)
    client = hook_for(source)
    clock = time.monotonic()
    log.info(
        "Source %s: pulling %s on connection %s, window %s (watermark %s)",
        source.name,
        source.provider,
        client.conn_id,
        window.name,
        watermark,
    )
    try:
        uris, records = PULLERS[source.provider](client, store, window, options, RetryPolicy.from_settings())
    finally:
        client.close()
    log.info(
        "Source %s: %d pages (%d records) stored under %s in %.2fs",
        source.name,
        len(uris),
        records,
        store.folder,
        time.monotonic() - clock,
    )
    return {
        "source": source.name,
        "window": window.name,
        "since": window.since.isoformat(),
        "until": window.until.isoformat(),
        "pages": uris,
        "records": records,
    }


def advance_watermark(
    source_name: str, pulled: Mapping[str, Any], run: RunInfo | None = None, dsn: str | None = None
) -> dict[str, Any]:
    """Move the source's watermark to the window's end, once every page of the window is loaded.

    A page counts as loaded when the current content of its object was loaded (not rejected); any
    other state raises and leaves the watermark where it was. The watermark never moves back.
    """
    from sms_tracking import db
    from sms_tracking.ingest import checksum, landing_path

    pages: list[str] = list(pulled["pages"])
    until = datetime.fromisoformat(pulled["until"])
    current = {uri: checksum(landing_path(uri))[0] for uri in pages}
    with closing(db.connect(dsn)) as conn, conn.transaction():
        loaded = set(
            conn.execute(
                """SELECT uri, checksum FROM sms_tracking.source_object
                WHERE source = %s AND uri = ANY(%s) AND status = 'loaded'""",
                (source_name, pages),
            ).fetchall()
        )
        missing = [uri for uri in pages if (uri, current[uri]) not in loaded]
        if missing:
            raise PullError(
                f"source {source_name}: {len(missing)} of {len(pages)} pages of window {pulled['window']} are not "
                f"loaded (first: {missing[0]}); the watermark stays at {read_watermark(conn, source_name)}"
            )
        watermark = conn.execute(
            """INSERT INTO sms_tracking.source_watermark AS w (source, watermark, updated_at, run_id)
               VALUES (%s, %s, now(), %s)
               ON CONFLICT (source) DO UPDATE
                  SET watermark = GREATEST(w.watermark, EXCLUDED.watermark), updated_at = now(),
                      run_id = EXCLUDED.run_id
               RETURNING watermark""",
            (source_name, until, run.run_id if run else None),
        ).fetchone()[0]  # type: ignore[index]
    log.info("Source %s: %d pages loaded; watermark now %s", source_name, len(pages), watermark)
    return {"source": source_name, "watermark": watermark.isoformat(), "pages": len(pages)}
