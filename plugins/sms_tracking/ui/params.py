"""Query parameters of pages and API routes: every sort key and enumerated filter is an allow-list.

Sort keys map to SQL expressions written here (never taken from the request); free-text filters are
bound as parameters. The same dependencies serve the HTML pages and the JSON API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Query, status

from sms_tracking.phone import is_e164
from sms_tracking.qualification import NOT_YET_SENT

Direction = Literal["asc", "desc"]

DELIVERY_SORTS: dict[str, str] = {
    "created_at": "created_at",
    "name": "lower(name)",
    "delivery_id": "delivery_id",
    "provider": "provider",
    "sender": "sender",
    "state": "state",
    "to_deliver": "to_deliver",
    "processed": "processed",
    "sent": "sent",
    "success": "success",
    "failed": "failed",
    "success_rate": "success_rate",
}
DeliverySort = Literal[
    "created_at",
    "name",
    "delivery_id",
    "provider",
    "sender",
    "state",
    "to_deliver",
    "processed",
    "sent",
    "success",
    "failed",
    "success_rate",
]
DeliveryState = Literal["not_sent", "in_progress", "finished"]
DELIVERY_STATES: dict[str, str] = {"not_sent": NOT_YET_SENT, "in_progress": "In progress", "finished": "Finished"}

LOG_SORTS: dict[str, str] = {
    "submitted_at": "l.submitted_at",
    "done_at": "l.done_at",
    "status": "l.status",
    "failure_type": "l.failure_type",
    "failure_reason": "l.failure_reason",
    "phone": "l.phone_e164",
    "recipient_id": "l.recipient_id",
}
LogSort = Literal["submitted_at", "done_at", "status", "failure_type", "failure_reason", "phone", "recipient_id"]
LogStatus = Literal["pending", "delivered", "failed", "cancelled"]
"""The codes of ``qualification.DELIVERY_STATUSES`` (a test keeps both equal), labelled by DELIVERY_STATUS_LABELS."""
FailureType = Literal["Hard", "Soft", "Ignored"]

QuarantineStatus = Literal["Valid", "With errors", "Quarantine", "Denylisted", "Allowlisted"]
"""The statuses of ``sms_tracking.quarantine`` (``sms_tracking.quarantine.STATUSES``; a test keeps both equal)."""
QUARANTINE_STATUSES: tuple[str, ...] = QuarantineStatus.__args__
QUARANTINE_SORTS: dict[str, str] = {
    "updated_at": "q.updated_at",
    "last_error_at": "q.last_error_at",
    "error_count": "q.error_count",
    "phone": "q.phone_e164",
    "status": "q.status",
}
QuarantineSort = Literal["updated_at", "last_error_at", "error_count", "phone", "status"]

AuditLevel = Literal["info", "warning", "error"]

MAX_TEXT = 200
_PHONE_NOISE = re.compile(r"[\s().\-/]")


def order_by(sorts: dict[str, str], key: str, direction: Direction, tiebreak: str, nulls_last: bool = False) -> str:
    """An ORDER BY body built only from the allow-list (the key was validated by its Literal type).

    Every column takes the same direction and, unless ``nulls_last``, Postgres's default null placement,
    so one b-tree index serves both directions of a large table (nulls last ascending, first descending).
    """
    sql_direction = "DESC" if direction == "desc" else "ASC"
    columns = [sorts[key], *(column.strip() for column in tiebreak.split(","))]
    nulls = " NULLS LAST" if nulls_last else ""
    return ", ".join(f"{column} {sql_direction}{nulls if i == 0 else ''}" for i, column in enumerate(columns))


def _text(value: str | None, name: str) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} is longer than {MAX_TEXT} characters")
    return value


def _date(value: str | None, name: str) -> date | None:
    value = _text(value, name)
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} {value!r} is not a date (expected YYYY-MM-DD)"
        ) from None
    if day == date.max:  # a range ends the next day at midnight, which must exist
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} {value!r} is past the last date supported")
    return day


def normalise_phone(value: str | None) -> str | None:
    """A searched number in E.164 form (``+`` and digits); spaces, dots, dashes and brackets are dropped."""
    value = _text(value, "phone")
    if value is None:
        return None
    compact = _PHONE_NOISE.sub("", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    compact = compact if compact.startswith("+") else "+" + compact
    if not is_e164(compact):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "phone must be a number in E.164 form, e.g. +447700900123"
        )
    return compact


def like_prefix(value: str) -> str:
    """A LIKE pattern matching values that start with ``value`` (wildcards in it are escaped)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def like_contains(value: str) -> str:
    return "%" + like_prefix(value)


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


def paging(
    limit: Annotated[int, Query(ge=1, le=200, description="Rows per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Rows to skip")] = 0,
) -> Paging:
    return Paging(limit=limit, offset=offset)


PagingDep = Annotated[Paging, Depends(paging)]


@dataclass(frozen=True)
class DeliveryFilters:
    q: str | None
    date_from: date | None
    date_to: date | None
    provider: str | None
    sender: str | None
    state: DeliveryState | None
    proofs: bool
    sort: DeliverySort
    direction: Direction

    def sql_params(self) -> dict[str, object]:
        return {
            "q": self.q,
            "q_like": like_contains(self.q) if self.q else None,
            "date_from": _start_of(self.date_from),
            "date_to": _start_of(self.date_to + timedelta(days=1)) if self.date_to else None,
            "provider": self.provider,
            "sender": self.sender,
            "state": self.state,
            "proofs": self.proofs,
        }


def _start_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), tzinfo=UTC) if day else None


def delivery_filters(
    q: Annotated[str | None, Query(description="Delivery id (exact) or part of the name or id")] = None,
    date_from: Annotated[str | None, Query(description="Created on or after this day (YYYY-MM-DD, UTC)")] = None,
    date_to: Annotated[str | None, Query(description="Created on or before this day (YYYY-MM-DD, UTC)")] = None,
    provider: Annotated[str | None, Query(description="Provider name, exact")] = None,
    sender: Annotated[str | None, Query(description="Sender, exact")] = None,
    state: Annotated[DeliveryState | Literal[""] | None, Query(description="Delivery state")] = None,
    proofs: Annotated[bool, Query(description="Include proof sends")] = False,
    sort: Annotated[DeliverySort, Query(description="Sort key")] = "created_at",
    dir: Annotated[Direction, Query(description="Sort direction")] = "desc",
) -> DeliveryFilters:
    return DeliveryFilters(
        q=_text(q, "q"),
        date_from=_date(date_from, "date_from"),
        date_to=_date(date_to, "date_to"),
        provider=_text(provider, "provider"),
        sender=_text(sender, "sender"),
        state=state or None,
        proofs=proofs,
        sort=sort,
        direction=dir,
    )


DeliveryFiltersDep = Annotated[DeliveryFilters, Depends(delivery_filters)]


@dataclass(frozen=True)
class LogFilters:
    status: LogStatus | None
    failure_type: FailureType | None
    failure_reason: str | None
    phone: str | None
    sort: LogSort
    direction: Direction


def log_filters(
    status: Annotated[LogStatus | Literal[""] | None, Query(description="Delivery-log status")] = None,
    failure_type: Annotated[FailureType | Literal[""] | None, Query(description="Failure type")] = None,
    failure_reason: Annotated[str | None, Query(description="Failure reason, exact")] = None,
    phone: Annotated[str | None, Query(description="Phone number (E.164); a prefix when numbers are visible")] = None,
    sort: Annotated[LogSort, Query(description="Sort key")] = "submitted_at",
    dir: Annotated[Direction, Query(description="Sort direction")] = "asc",
) -> LogFilters:
    return LogFilters(
        status=status or None,
        failure_type=failure_type or None,
        failure_reason=_text(failure_reason, "failure_reason"),
        phone=normalise_phone(phone),
        sort=sort,
        direction=dir,
    )


LogFiltersDep = Annotated[LogFilters, Depends(log_filters)]


@dataclass(frozen=True)
class QuarantineFilters:
    status: QuarantineStatus | None
    phone: str | None
    reason: str | None
    delivery: str | None
    sort: QuarantineSort
    direction: Direction


def quarantine_filters(
    status: Annotated[QuarantineStatus | Literal[""] | None, Query(description="Quarantine status")] = None,
    phone: Annotated[str | None, Query(description="Phone number (E.164); a prefix when numbers are visible")] = None,
    reason: Annotated[str | None, Query(description="Last error reason, exact")] = None,
    delivery: Annotated[str | None, Query(description="The delivery whose report set the current status")] = None,
    sort: Annotated[QuarantineSort, Query(description="Sort key")] = "updated_at",
    dir: Annotated[Direction, Query(description="Sort direction")] = "desc",
) -> QuarantineFilters:
    return QuarantineFilters(
        status=status or None,
        phone=normalise_phone(phone),
        reason=_text(reason, "reason"),
        delivery=_text(delivery, "delivery"),
        sort=sort,
        direction=dir,
    )


QuarantineFiltersDep = Annotated[QuarantineFilters, Depends(quarantine_filters)]


def reason_filter(
    reason: Annotated[str | None, Query(description="Exclusion cause, exact")] = None,
) -> str | None:
    return _text(reason, "reason")


def provider_filter(
    provider: Annotated[str | None, Query(description="Provider, exact")] = None,
) -> str | None:
    return _text(provider, "provider")


def level_filter(
    level: Annotated[AuditLevel | Literal[""] | None, Query(description="Journal level")] = None,
) -> AuditLevel | None:
    return level or None
