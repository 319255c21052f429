"""The JSON API (``<prefix>/api/...``): each page's data for automation, paginated with limit/offset."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from sms_tracking.ui import datamodels as m, params, queries
from sms_tracking.ui.auth import ManagerDep, ViewerDep, require_reader

router = APIRouter(prefix="/api", dependencies=[Depends(require_reader)], tags=["SMS Tracking"])

DeliveryId = Annotated[str, Path(description="Delivery id", max_length=200)]
PhonePath = Annotated[str, Path(description="Phone number in E.164 form, e.g. +33612345678", max_length=40)]
ActionPath = Annotated[Literal["release", "allowlist"], Path(description="release or allowlist")]
NO_MANAGE = {403: {"description": "No manage permission"}}


def _phone(phone: str) -> str:
    normalised = params.normalise_phone(phone)
    assert normalised is not None  # a path segment is never empty
    return normalised


@router.get("/me", summary="The caller and their permissions")
def me(viewer: ViewerDep) -> m.Me:
    return m.Me(username=viewer.username, can_manage=viewer.can_manage, phones_masked=viewer.mask_phones)


@router.get("/deliveries", summary="Deliveries with their KPIs")
def deliveries(filters: params.DeliveryFiltersDep, paging: params.PagingDep) -> m.Page[m.DeliveryRow]:
    with queries.open_reader() as reader:
        return queries.deliveries(reader, filters, paging)


@router.get("/deliveries/choices", summary="Provider and sender filter values")
def delivery_choices() -> m.DeliveryChoices:
    with queries.open_reader() as reader:
        return queries.delivery_choices(reader)


@router.get("/deliveries/{delivery_id:path}/sms", summary="SMS tab: content as sent")
def sms(delivery_id: DeliveryId) -> m.SmsContent:
    with queries.open_reader() as reader:
        return queries.sms_content(reader, delivery_id)


@router.get("/deliveries/{delivery_id:path}/log", summary="Delivery tab: the log")
def delivery_log(
    delivery_id: DeliveryId, viewer: ViewerDep, filters: params.LogFiltersDep, paging: params.PagingDep
) -> m.Page[m.LogRow]:
    with queries.open_reader() as reader:
        return queries.delivery_log(reader, viewer, delivery_id, filters, paging)


@router.get("/deliveries/{delivery_id:path}/exclusions", summary="Exclusions tab")
def exclusions(
    delivery_id: DeliveryId,
    viewer: ViewerDep,
    paging: params.PagingDep,
    reason: Annotated[str | None, Depends(params.reason_filter)],
) -> m.Exclusions:
    with queries.open_reader() as reader:
        return queries.exclusions(reader, viewer, delivery_id, reason, paging)


@router.get("/deliveries/{delivery_id:path}/tracking", summary="Tracking tab")
def tracking(delivery_id: DeliveryId, paging: params.PagingDep) -> m.Tracking:
    with queries.open_reader() as reader:
        return queries.tracking(reader, delivery_id, paging)


@router.get("/deliveries/{delivery_id:path}/audit", summary="Audit tab: journal and pipeline")
def audit(
    delivery_id: DeliveryId,
    viewer: ViewerDep,
    paging: params.PagingDep,
    level: Annotated[params.AuditLevel | None, Depends(params.level_filter)],
) -> m.Audit:
    with queries.open_reader() as reader:
        return queries.audit(reader, viewer, delivery_id, level, paging)


@router.get("/deliveries/{delivery_id:path}", summary="Summary tab: KPIs and charts")
def delivery_summary(delivery_id: DeliveryId) -> m.DeliverySummary:
    with queries.open_reader() as reader:
        return queries.delivery_summary(reader, delivery_id)


@router.get("/quarantine", summary="Quarantine list")
def quarantine(
    viewer: ViewerDep, filters: params.QuarantineFiltersDep, paging: params.PagingDep
) -> m.Page[m.QuarantineRow]:
    with queries.open_reader() as reader:
        return queries.quarantine(reader, viewer, filters, paging)


@router.get("/quarantine/{phone}", summary="A number's quarantine history")
def number_history(phone: PhonePath, viewer: ViewerDep) -> m.NumberHistory:
    with queries.open_reader() as reader:
        return queries.number_history(reader, viewer, _phone(phone))


class ActionBody(BaseModel):
    note: str | None = Field(default=None, max_length=500, description="Why; written to the history")


class BulkActionBody(BaseModel):
    expected: int = Field(ge=0, description="How many numbers the caller confirmed (GET api/quarantine/bulk/{action})")
    note: str | None = Field(default=None, max_length=500, description="Why; written to each number's history")


@router.get(
    "/quarantine/bulk/{action}",
    summary="How many of the filtered numbers a bulk release or allowlisting would change",
)
def quarantine_bulk_preview(
    action: ActionPath, viewer: ManagerDep, filters: params.QuarantineFiltersDep
) -> m.QuarantineBulkPreview:
    with queries.open_reader() as reader:
        targets = queries.bulk_targets(reader, viewer, filters, action)
    return m.QuarantineBulkPreview(action=action, to_status=queries.QUARANTINE_ACTIONS[action], count=len(targets))


@router.post(
    "/quarantine/bulk/{action}",
    summary="Release or allowlist every filtered number (needs the manage permission and the confirmed count)",
    responses={**NO_MANAGE, 409: {"description": "The filtered set changed"}},
)
def quarantine_bulk(
    action: ActionPath,
    viewer: ManagerDep,
    filters: params.QuarantineFiltersDep,
    body: Annotated[BulkActionBody, Body()],
) -> m.QuarantineBulkAction:
    with queries.open_reader(write=True) as reader:
        return queries.change_quarantine_bulk(reader, viewer, filters, action, body.note, body.expected)


@router.post(
    "/quarantine/{phone}/{action}",
    summary="Release a number or move it to the allowlist (needs the manage permission)",
    responses={**NO_MANAGE, 409: {"description": "Quarantine tables missing"}},
)
def quarantine_action(
    phone: PhonePath, action: ActionPath, viewer: ManagerDep, body: Annotated[ActionBody | None, Body()] = None
) -> m.QuarantineAction:
    with queries.open_reader(write=True) as reader:
        return queries.change_quarantine(reader, viewer, _phone(phone), action, body.note if body else None)


@router.get("/qualification", summary="Qualification table")
def qualification(
    viewer: ViewerDep,
    paging: params.PagingDep,
    provider: Annotated[str | None, Depends(params.provider_filter)],
    state: Annotated[Literal["to_qualify", "keep", "ignore", ""] | None, Query(description="State")] = None,
) -> m.Page[m.QualificationRow]:
    with queries.open_reader() as reader:
        return queries.qualification(reader, viewer, provider, state or None, paging)


@router.get("/quality", summary="Latest validation results per table")
def quality(viewer: ViewerDep) -> m.Quality:
    with queries.open_reader() as reader:
        return queries.quality(reader, viewer)


@router.get("/openapi.json", summary="This API's OpenAPI document", include_in_schema=False)
def openapi(request: Request) -> dict[str, Any]:
    return request.app.openapi()  # type: ignore[no-any-return]
