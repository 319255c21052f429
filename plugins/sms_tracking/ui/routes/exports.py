"""CSV downloads of every list (``export/...``), with the same filters as the page they come from."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse

from sms_tracking.ui import exports, params
from sms_tracking.ui.auth import ViewerDep, require_reader

router = APIRouter(prefix="/export", dependencies=[Depends(require_reader)], tags=["Exports"])

DeliveryId = Annotated[str, Path(description="Delivery id", max_length=200)]
CSV = {200: {"content": {"text/csv": {}}, "description": "CSV, streamed"}}


@router.get("/deliveries.csv", summary="Deliveries list as CSV", responses=CSV)
def deliveries(filters: params.DeliveryFiltersDep) -> StreamingResponse:
    return exports.deliveries(filters)


@router.get("/deliveries/{delivery_id:path}/log.csv", summary="A delivery's log as CSV", responses=CSV)
def delivery_log(delivery_id: DeliveryId, viewer: ViewerDep, filters: params.LogFiltersDep) -> StreamingResponse:
    return exports.delivery_log(viewer, delivery_id, filters)


@router.get("/deliveries/{delivery_id:path}/exclusions.csv", summary="Excluded recipients as CSV", responses=CSV)
def exclusions(
    delivery_id: DeliveryId, viewer: ViewerDep, reason: Annotated[str | None, Depends(params.reason_filter)]
) -> StreamingResponse:
    return exports.exclusions(viewer, delivery_id, reason)


@router.get("/deliveries/{delivery_id:path}/tracking.csv", summary="A delivery's tracking log as CSV", responses=CSV)
def tracking(delivery_id: DeliveryId) -> StreamingResponse:
    return exports.tracking_log(delivery_id)


@router.get("/quarantine.csv", summary="Quarantine list as CSV", responses=CSV)
def quarantine(viewer: ViewerDep, filters: params.QuarantineFiltersDep) -> StreamingResponse:
    return exports.quarantine(viewer, filters)


@router.get("/qualification.csv", summary="Qualification table as CSV", responses=CSV)
def qualification(
    viewer: ViewerDep,
    provider: Annotated[str | None, Depends(params.provider_filter)],
    state: Annotated[Literal["to_qualify", "keep", "ignore", ""] | None, Query(description="State")] = None,
) -> StreamingResponse:
    return exports.qualification(viewer, provider, state or None)


@router.get("/quality.csv", summary="Latest data-quality results as CSV", responses=CSV)
def quality(viewer: ViewerDep) -> StreamingResponse:
    return exports.quality(viewer)
