"""A fake of Twilio's Messages list: ``GET /2010-04-01/Accounts/{AccountSid}/Messages.json``.

What it speaks, as Twilio documents it: HTTP basic auth with the Account SID and the Auth Token (401
with Twilio's error body, code 20003, otherwise); ``PageSize`` (default 50, at most 1000); ``DateSent``
filters by day in GMT, ``DateSent>=YYYY-MM-DD`` (the query key is ``DateSent>``) on or after that day's
midnight, ``DateSent<=`` on or before that day, ``DateSent=`` that day; messages most recent first;
pages carry ``messages``, ``page``, ``page_size``, ``start``, ``end``, ``uri``, ``first_page_uri``,
``previous_page_uri`` and ``next_page_uri`` (a path with ``Page`` and ``PageToken``, null on the last
page). The page token names the last message of the previous page, so new messages do not shift later
pages. Dates are RFC 2822 strings, prices and counts strings, as the REST API writes them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from tests.fakes.server import Answer, FakeApi
from tests.project import SAMPLES

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-auth-token"
_PATH_PREFIX = "/2010-04-01/Accounts/"


def rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC))


def sample_messages() -> list[dict[str, Any]]:
    """Twilio's own API fixtures (one message per SID) and the Airbyte records, in the REST API's shape."""
    messages: dict[str, dict[str, Any]] = {}
    for line in (SAMPLES / "twilio_api_examples" / "messages.jsonl").read_text(encoding="utf-8").splitlines():
        message = json.loads(line)["message"]
        messages.setdefault(message["sid"], message)
    for line in (SAMPLES / "airbyte_source_twilio" / "messages.jsonl").read_text(encoding="utf-8").splitlines():
        data = dict(json.loads(line)["data"])
        for name in ("date_created", "date_sent", "date_updated"):
            if data.get(name):
                data[name] = rfc2822(datetime.fromisoformat(data[name]))
        for name in ("num_segments", "num_media"):
            data[name] = str(data[name])
        data["price"] = None if data.get("price") is None else f"{data['price']:.5f}"
        messages.setdefault(data["sid"], data)
    return list(messages.values())


_OUTCOMES = (("delivered", None), ("undelivered", 30005), ("sent", None), ("failed", 30003), ("delivered", None))


def generated_messages(
    count: int, first_sent: datetime, step: timedelta = timedelta(minutes=7), account_sid: str = ACCOUNT_SID
) -> list[dict[str, Any]]:
    """``count`` outbound messages sent ``step`` apart from ``first_sent``; deterministic SIDs and outcomes."""
    messages = []
    for index in range(count):
        sent = first_sent + step * index
        sid = "SM" + hashlib.sha256(f"{first_sent.isoformat()}:{index}".encode()).hexdigest()[:32]
        status, error = _OUTCOMES[index % len(_OUTCOMES)]
        messages.append(
            {
                "account_sid": account_sid,
                "api_version": "2010-04-01",
                "body": f"Promo {index}",
                "date_created": rfc2822(sent - timedelta(seconds=2)),
                "date_sent": rfc2822(sent),
                "date_updated": rfc2822(sent + timedelta(seconds=40)),
                "direction": "outbound-api",
                "error_code": error,
                "error_message": None,
                "from": "+15550100",
                "messaging_service_sid": None,
                "num_media": "0",
                "num_segments": "1",
                "price": "-0.00790",
                "price_unit": "USD",
                "sid": sid,
                "status": status,
                "subresource_uris": {"media": f"{_PATH_PREFIX}{account_sid}/Messages/{sid}/Media.json"},
                "to": f"+1555020{index:04d}",
                "uri": f"{_PATH_PREFIX}{account_sid}/Messages/{sid}.json",
            }
        )
    return messages


def _sent(message: dict[str, Any]) -> datetime | None:
    value = message.get("date_sent")
    return parsedate_to_datetime(value) if value else None


class TwilioApi(FakeApi):
    """The Messages list of one account."""

    def __init__(
        self, messages: Iterable[dict[str, Any]] = (), account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: dict[str, dict[str, Any]] = {m["sid"]: dict(m) for m in messages}

    def add(self, messages: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            self.messages.update({m["sid"]: dict(m) for m in messages})

    def update(self, sid: str, status: str, error_code: int | None, updated: datetime) -> None:
        """A later status of a message (its delivery receipt arrived)."""
        with self._lock:
            self.messages[sid].update(status=status, error_code=error_code, date_updated=rfc2822(updated))

    def revoke(self) -> None:
        """The Auth Token was rotated: the connection's credential no longer works."""
        self.auth_token = "rotated-" + self.auth_token

    def error_body(self, status: int) -> bytes:
        known = {
            429: (20429, "Too Many Requests"),
            500: (20500, "Internal Server Error"),
            503: (20503, "Service Unavailable"),
            401: (20003, "Authenticate"),
            404: (20404, "Not Found"),
        }
        code, message = known.get(status, (status, "Error"))
        return json.dumps(
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            }
        ).encode()

    def answer(self, path: str, params: list[tuple[str, str]], headers: dict[str, str]) -> Answer:
        if not path.startswith(_PATH_PREFIX) or not path.endswith("/Messages.json"):
            return Answer(404, self.error_body(404))
        if not self._authorised(headers.get("authorization", "")) or path != self.list_path:
            return Answer(401, self.error_body(401), {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        query = dict(params)
        try:
            page_size = min(int(query.get("PageSize", "50")), 1000)
            page = int(query.get("Page", "0"))
            selected = self._select(query)
        except ValueError as exc:
            return Answer(400, json.dumps({"code": 20001, "message": str(exc), "status": 400}).encode())
        start = 0
        token = query.get("PageToken")
        if token:
            sids = [m["sid"] for m in selected]
            start = sids.index(token[2:]) + 1 if token[2:] in sids else len(sids)
        items = selected[start : start + page_size]
        filters = [(k, v) for k, v in params if k.startswith("DateSent")]
        first = self._uri(filters, page_size, 0, None)
        next_uri = None
        if start + page_size < len(selected) and items:
            next_uri = self._uri(filters, page_size, page + 1, "PA" + items[-1]["sid"])
        body = {
            "first_page_uri": first,
            "end": start + len(items) - 1 if items else 0,
            "previous_page_uri": None if page == 0 else first,
            "messages": items,
            "uri": self._uri(filters, page_size, page, token),
            "page_size": page_size,
            "start": start,
            "next_page_uri": next_uri,
            "page": page,
        }
        return Answer(200, json.dumps(body).encode())

    @property
    def list_path(self) -> str:
        return f"{_PATH_PREFIX}{self.account_sid}/Messages.json"

    def _authorised(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return (user, password) == (self.account_sid, self.auth_token)

    def _select(self, query: dict[str, str]) -> list[dict[str, Any]]:
        def day(value: str) -> date:
            return date.fromisoformat(value[:10])

        selected = []
        for message in self.messages.values():
            sent = _sent(message)
            if any(key.startswith("DateSent") for key in query) and sent is None:
                continue
            sent_day = sent.astimezone(UTC).date() if sent else None
            if "DateSent>" in query and sent_day < day(query["DateSent>"]):  # type: ignore[operator]
                continue
            if "DateSent<" in query and sent_day > day(query["DateSent<"]):  # type: ignore[operator]
                continue
            if "DateSent" in query and sent_day != day(query["DateSent"]):
                continue
            selected.append(message)
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(selected, key=lambda m: (_sent(m) or epoch, m["sid"]), reverse=True)

    def _uri(self, filters: list[tuple[str, str]], page_size: int, page: int, token: str | None) -> str:
        params = [*filters, ("PageSize", str(page_size)), ("Page", str(page))]
        if token:
            params.append(("PageToken", token))
        return f"{self.list_path}?{urlencode(params)}"
