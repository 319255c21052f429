"""The HTML pages: server-rendered, relative links only, the same data functions as the JSON API."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from sms_tracking.qualification import DELIVERY_STATUSES, FAILURE_TYPES
from sms_tracking.ui import charts, params, queries, runs, tiles
from sms_tracking.ui.auth import ManagerDep, ViewerDep, require_reader
from sms_tracking.ui.templating import query_with, render

router = APIRouter(dependencies=[Depends(require_reader)], include_in_schema=False)

DeliveryId = Annotated[str, Path(max_length=200)]
PhonePath = Annotated[str, Path(max_length=40)]
TABS = (
    ("summary", "Summary", ""),
    ("sms", "SMS", "/sms"),
    ("log", "Delivery", "/log"),
    ("exclusions", "Exclusions", "/exclusions"),
    ("tracking", "Tracking", "/tracking"),
    ("audit", "Audit", "/audit"),
)


@router.get("/", response_class=HTMLResponse)
def deliveries_page(
    request: Request, viewer: ViewerDep, filters: params.DeliveryFiltersDep, paging: params.PagingDep
) -> HTMLResponse:
    with queries.open_reader() as reader:
        page = queries.deliveries(reader, filters, paging)
        choices = queries.delivery_choices(reader)
    return render(
        request,
        "deliveries.html",
        viewer,
        section="deliveries",
        page=page,
        choices=choices,
        filters=filters,
        states=params.DELIVERY_STATES,
    )


def _tab(
    request: Request,
    viewer: ViewerDep,
    reader: queries.Reader,
    delivery_id: str,
    tab: str,
    template: str,
    **context: object,
) -> HTMLResponse:
    delivery, kpis = queries.delivery_header(reader, delivery_id)
    return render(
        request,
        template,
        viewer,
        section="deliveries",
        tab=tab,
        tabs=TABS,
        delivery=delivery,
        kpis=kpis,
        **context,
    )


@router.get("/deliveries/{delivery_id:path}/sms", response_class=HTMLResponse)
def sms_tab(request: Request, viewer: ViewerDep, delivery_id: DeliveryId) -> HTMLResponse:
    with queries.open_reader() as reader:
        sms = queries.sms_content(reader, delivery_id)
        return _tab(request, viewer, reader, delivery_id, "sms", "delivery_sms.html", sms=sms)


@router.get("/deliveries/{delivery_id:path}/log", response_class=HTMLResponse)
def log_tab(
    request: Request,
    viewer: ViewerDep,
    delivery_id: DeliveryId,
    filters: params.LogFiltersDep,
    paging: params.PagingDep,
) -> HTMLResponse:
    with queries.open_reader() as reader:
        page = queries.delivery_log(reader, viewer, delivery_id, filters, paging)
        reasons = queries.failure_reasons(reader)
        return _tab(
            request,
            viewer,
            reader,
            delivery_id,
            "log",
            "delivery_log.html",
            page=page,
            filters=filters,
            reasons=reasons,
        )


@router.get("/deliveries/{delivery_id:path}/exclusions", response_class=HTMLResponse)
def exclusions_tab(
    request: Request,
    viewer: ViewerDep,
    delivery_id: DeliveryId,
    paging: params.PagingDep,
    reason: Annotated[str | None, Depends(params.reason_filter)],
) -> HTMLResponse:
    with queries.open_reader() as reader:
        exclusions = queries.exclusions(reader, viewer, delivery_id, reason, paging)
        return _tab(
            request,
            viewer,
            reader,
            delivery_id,
            "exclusions",
            "delivery_exclusions.html",
            exclusions=exclusions,
            reason=reason,
        )


@router.get("/deliveries/{delivery_id:path}/tracking", response_class=HTMLResponse)
def tracking_tab(
    request: Request, viewer: ViewerDep, delivery_id: DeliveryId, paging: params.PagingDep
) -> HTMLResponse:
    with queries.open_reader() as reader:
        tracking = queries.tracking(reader, delivery_id, paging)
        return _tab(
            request,
            viewer,
            reader,
            delivery_id,
            "tracking",
            "delivery_tracking.html",
            tracking=tracking,
            charts=charts.tracking_charts(tracking),
        )


@router.get("/deliveries/{delivery_id:path}/audit", response_class=HTMLResponse)
def audit_tab(
    request: Request,
    viewer: ViewerDep,
    delivery_id: DeliveryId,
    paging: params.PagingDep,
    level: Annotated[params.AuditLevel | None, Depends(params.level_filter)],
) -> HTMLResponse:
    with queries.open_reader() as reader:
        audit = queries.audit(reader, viewer, delivery_id, level, paging)
        return _tab(request, viewer, reader, delivery_id, "audit", "delivery_audit.html", audit=audit, level=level)


@router.get("/deliveries/{delivery_id:path}", response_class=HTMLResponse)
def summary_tab(request: Request, viewer: ViewerDep, delivery_id: DeliveryId) -> HTMLResponse:
    with queries.open_reader() as reader:
        summary = queries.delivery_summary(reader, delivery_id)
        return _tab(
            request,
            viewer,
            reader,
            delivery_id,
            "summary",
            "delivery_summary.html",
            summary=summary,
            charts=charts.summary_charts(summary),
            tiles=tiles.summary_tiles(summary),
        )


QuarantineActionPath = Annotated[Literal["release", "allowlist"], Path()]


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine_page(
    request: Request,
    viewer: ViewerDep,
    filters: params.QuarantineFiltersDep,
    paging: params.PagingDep,
    done: Annotated[Literal["release", "allowlist", ""] | None, Query()] = None,
    changed: Annotated[int | None, Query(ge=0)] = None,
) -> HTMLResponse:
    with queries.open_reader() as reader:
        page = queries.quarantine(reader, viewer, filters, paging)
        counts = queries.status_counts(reader, viewer, filters)
        reasons = queries.failure_reasons(reader)
    return render(
        request,
        "quarantine.html",
        viewer,
        section="quarantine",
        page=page,
        filters=filters,
        statuses=params.QUARANTINE_STATUSES,
        counts=counts,
        reasons=reasons,
        done=done or None,
        changed=changed,
    )


@router.get("/quarantine/bulk/{action}", response_class=HTMLResponse)
def quarantine_bulk_confirm(
    request: Request, viewer: ManagerDep, action: QuarantineActionPath, filters: params.QuarantineFiltersDep
) -> HTMLResponse:
    """The confirmation of a bulk action: how many of the filtered numbers it changes."""
    with queries.open_reader() as reader:
        targets = queries.bulk_targets(reader, viewer, filters, action)
    return render(
        request,
        "quarantine_confirm.html",
        viewer,
        section="quarantine",
        action=action,
        count=len(targets),
        to_status=queries.QUARANTINE_ACTIONS[action],
        filters=filters,
        number=None,
        from_status=None,
    )


@router.post("/quarantine/bulk/{action}")
def quarantine_bulk(
    request: Request,
    viewer: ManagerDep,
    action: QuarantineActionPath,
    filters: params.QuarantineFiltersDep,
    expected: Annotated[int, Form(ge=0)],
    note: Annotated[str | None, Form(max_length=500)] = None,
) -> RedirectResponse:
    with queries.open_reader(write=True) as reader:
        result = queries.change_quarantine_bulk(reader, viewer, filters, action, (note or "").strip() or None, expected)
    # Relative to /quarantine/bulk/<action>: back to the list, with its filters.
    back = query_with(request, done=action, changed=result.changed)
    return RedirectResponse(f"../../quarantine{back}", status_code=303)


@router.get("/quarantine/{phone}", response_class=HTMLResponse)
def number_page(
    request: Request,
    viewer: ViewerDep,
    phone: PhonePath,
    done: Annotated[Literal["release", "allowlist", ""] | None, Query()] = None,
) -> HTMLResponse:
    number = params.normalise_phone(phone) or ""
    with queries.open_reader() as reader:
        history = queries.number_history(reader, viewer, number)
    return render(
        request,
        "quarantine_number.html",
        viewer,
        section="quarantine",
        number=number,
        history=history,
        done=done or None,
    )


@router.get("/quarantine/{phone}/{action}", response_class=HTMLResponse)
def quarantine_confirm(
    request: Request, viewer: ManagerDep, phone: PhonePath, action: QuarantineActionPath
) -> HTMLResponse:
    """The confirmation of a single release or allowlisting (the form posts to the same address)."""
    number = params.normalise_phone(phone) or ""
    with queries.open_reader() as reader:
        history = queries.number_history(reader, viewer, number)
    return render(
        request,
        "quarantine_confirm.html",
        viewer,
        section="quarantine",
        action=action,
        count=1,
        to_status=queries.QUARANTINE_ACTIONS[action],
        filters=None,
        number=number,
        from_status=history.quarantine.status if history.quarantine else "Valid",
    )


@router.post("/quarantine/{phone}/{action}")
def quarantine_form(
    phone: PhonePath,
    action: QuarantineActionPath,
    viewer: ManagerDep,
    note: Annotated[str | None, Form(max_length=500)] = None,
) -> RedirectResponse:
    number = params.normalise_phone(phone) or ""
    with queries.open_reader(write=True) as reader:
        queries.change_quarantine(reader, viewer, number, action, (note or "").strip() or None)
    # Relative to /quarantine/<phone>/<action>: back to the number's page.
    return RedirectResponse(f"../{quote(number, safe='')}?done={action}", status_code=303)


@router.get("/qualification", response_class=HTMLResponse)
def qualification_page(
    request: Request,
    viewer: ViewerDep,
    paging: params.PagingDep,
    provider: Annotated[str | None, Depends(params.provider_filter)],
    state: Annotated[Literal["to_qualify", "keep", "ignore", ""] | None, Query()] = None,
) -> HTMLResponse:
    with queries.open_reader() as reader:
        page = queries.qualification(reader, viewer, provider, state or None, paging)
        providers = queries.qualification_providers(reader)
        changes = queries.changes(reader, limit=10)
    return render(
        request,
        "qualification.html",
        viewer,
        section="qualification",
        page=page,
        provider=provider,
        state=state or None,
        providers=providers,
        changes=changes,
    )


KeyPart = Annotated[str, Path(min_length=1, max_length=200)]


def _row_key(provider: KeyPart, raw_status: KeyPart, error_code: KeyPart) -> queries.RowKey:
    return queries.RowKey(provider, raw_status, error_code)


RowKeyDep = Annotated[queries.RowKey, Depends(_row_key)]


@router.get("/qualification/{provider}/{raw_status}/{error_code}", response_class=HTMLResponse)
def qualification_row_page(
    request: Request,
    viewer: ViewerDep,
    key: RowKeyDep,
    started: Annotated[str | None, Query(max_length=200)] = None,
    not_started: Annotated[str | None, Query(max_length=400)] = None,
) -> HTMLResponse:
    """A row with its history; its edit form for users who may manage (viewers read it only)."""
    with queries.open_reader() as reader:
        detail = queries.qualification_detail(reader, viewer, key)
    return render(
        request,
        "qualification_row.html",
        viewer,
        section="qualification",
        detail=detail,
        q=detail.row,
        started=started,
        not_started=not_started,
        states=queries.EDIT_STATES,
        outcomes=DELIVERY_STATUSES,
        types=FAILURE_TYPES,
    )


@router.post("/qualification/{provider}/{raw_status}/{error_code}")
def qualification_edit(
    viewer: ManagerDep,
    key: RowKeyDep,
    state: Annotated[str, Form(max_length=20)],
    outcome: Annotated[str, Form(max_length=20)],
    failure_type: Annotated[str | None, Form(max_length=20)] = None,
    failure_reason: Annotated[str | None, Form(max_length=100)] = None,
    note: Annotated[str | None, Form(max_length=500)] = None,
) -> RedirectResponse:
    """Store the edit with its history, then start the re-qualification of past reports (a requalify run)."""
    edit = queries.Edit(state, outcome, failure_type or None, failure_reason or None)
    with queries.open_reader(write=True) as reader:
        run_id = queries.edit_qualification(reader, viewer, key, edit, (note or "").strip() or None)
    problem = runs.start(run_id, key.requalify_conf(), viewer.username)
    outcome_qs = urlencode({"not_started": problem} if problem else {"started": run_id})
    # Relative to /qualification/<provider>/<status>/<code>: the same row's page.
    return RedirectResponse(f"{quote(key.error_code, safe='')}?{outcome_qs}", status_code=303)


@router.get("/quality", response_class=HTMLResponse)
def quality_page(request: Request, viewer: ViewerDep) -> HTMLResponse:
    with queries.open_reader() as reader:
        quality = queries.quality(reader, viewer)
    return render(request, "quality.html", viewer, section="quality", quality=quality)
