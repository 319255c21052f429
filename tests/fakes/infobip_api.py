"""A fake of Infobip's delivery-reports endpoint: ``GET /sms/1/reports``.

What it speaks, as Infobip documents it: ``Authorization: App <api key>`` (401 with Infobip's
``requestError`` body otherwise); ``limit`` (default 50, at most 1000), ``bulkId`` and ``messageId``
filters; the answer ``{"results": [...]}`` in the delivery-report webhook's shape. Each report is
handed out once: the reports an answer holds leave the queue, as they leave Infobip's.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.server import Answer, FakeApi
from tests.project import SAMPLES

API_KEY = "infobip-test-api-key-0123456789"
ENDPOINTS = ("/sms/1/reports", "/sms/3/reports")


def sample_reports() -> list[dict[str, Any]]:
    """The delivery-report results of the Infobip samples (not the inbound or number-lookup ones)."""
    reports = []
    for line in (SAMPLES / "infobip_reports" / "report_examples.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["kind"] == "outbound delivery report webhook":
            reports.extend(entry["payload"]["results"])
    return reports


def _infobip_date(moment: datetime) -> str:
    """Infobip's ``yyyy-MM-dd'T'HH:mm:ss.SSSZ``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _status(group_id: int, group: str, status_id: int, name: str, description: str) -> dict[str, Any]:
    return {"groupId": group_id, "groupName": group, "id": status_id, "name": name, "description": description}


def _error(group_id: int, group: str, error_id: int, name: str, description: str, permanent: bool) -> dict[str, Any]:
    return {**_status(group_id, group, error_id, name, description), "permanent": permanent}


_NOT_DELIVERED = _status(2, "UNDELIVERABLE", 9, "UNDELIVERABLE_NOT_DELIVERED", "Message sent not delivered")
_OUTCOMES = (
    (
        _status(3, "DELIVERED", 5, "DELIVERED_TO_HANDSET", "Message delivered to handset"),
        _error(0, "OK", 0, "NO_ERROR", "No Error", permanent=False),
    ),
    (_NOT_DELIVERED, _error(1, "HANDSET_ERRORS", 27, "EC_ABSENT_SUBSCRIBER", "Absent Subscriber", permanent=False)),
    (_NOT_DELIVERED, _error(1, "HANDSET_ERRORS", 1, "EC_UNKNOWN_SUBSCRIBER", "Unknown Subscriber", permanent=True)),
)
"""The (status, error) of generated reports, in turn: delivered, absent subscriber, unknown subscriber."""


def generated_reports(count: int, first_sent: datetime, prefix: str = "IB") -> list[dict[str, Any]]:
    """``count`` delivery reports a minute apart; deterministic ids and outcomes."""
    reports = []
    for index in range(count):
        sent = first_sent + timedelta(minutes=index)
        status, error = _OUTCOMES[index % len(_OUTCOMES)]
        reports.append(
            {
                "bulkId": f"BULK-{prefix}",
                "messageId": f"{prefix}-{index:06d}",
                "to": f"4179302{index:04d}",
                "sender": "InfoSMS",
                "sentAt": _infobip_date(sent),
                "doneAt": _infobip_date(sent + timedelta(seconds=30)),
                "smsCount": 1,
                "price": {"pricePerMessage": 0.01, "currency": "EUR"},
                "status": status,
                "error": error,
            }
        )
    return reports


class InfobipApi(FakeApi):
    """The queue of delivery reports not yet handed out."""

    def __init__(self, reports: Iterable[dict[str, Any]] = (), api_key: str = API_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.queue: deque[dict[str, Any]] = deque(reports)
        self.handed_out: list[dict[str, Any]] = []

    def add(self, reports: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            self.queue.extend(reports)

    def revoke(self) -> None:
        """The API key was revoked."""
        self.api_key = "revoked-" + self.api_key

    def error_body(self, status: int) -> bytes:
        known = {
            401: ("UNAUTHORIZED", "Invalid login details"),
            429: ("TOO_MANY_REQUESTS", "Too many requests"),
            400: ("BAD_REQUEST", "Bad request"),
            404: ("NOT_FOUND", "Not found"),
        }
        message_id, text = known.get(status, ("GENERAL_ERROR", "Something went wrong. Please contact support."))
        return json.dumps({"requestError": {"serviceException": {"messageId": message_id, "text": text}}}).encode()

    def answer(self, path: str, params: list[tuple[str, str]], headers: dict[str, str]) -> Answer:
        if path not in ENDPOINTS:
            return Answer(404, self.error_body(404))
        if headers.get("authorization") != f"App {self.api_key}":
            return Answer(401, self.error_body(401))
        query = dict(params)
        limit = query.get("limit", "50")
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:
            return Answer(400, self.error_body(400))
        wanted = [r for r in self.queue if all(query.get(key) in (None, r.get(key)) for key in ("bulkId", "messageId"))]
        taken = wanted[: int(limit)]
        for report in taken:
            self.queue.remove(report)
        self.handed_out.extend(taken)
        return Answer(200, json.dumps({"results": taken}).encode())
