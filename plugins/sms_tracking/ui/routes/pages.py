"""The HTML pages: server-rendered, relative links only, the same data functions as the JSON API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from sms_tracking.qualification import DELIVERY_STATUSES, FAILURE_TYPES
from sms_tracking.ui import charts, datamodels as m, params, queries, runs, tiles
from sms_tracking.ui.auth import ManagerDep, Viewer, ViewerDep, require_reader
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


def _list_page(
    request: Request, viewer: Viewer, section: str, page: object, filters: object, **context: object
) -> HTMLResponse:
    """A list page (its template named after its section): a page of rows under the filters in force."""
    return render(request, f"{section}.html", viewer, section=section, page=page, filters=filters, **context)


@router.get("/", response_class=HTMLResponse)
def deliveries_page(
    request: Request, viewer: ViewerDep, filters: params.DeliveryFiltersDep, paging: params.PagingDep
) -> HTMLResponse:
    with queries.open_reader() as reader:
        page = queries.deliveries(reader, filters, paging)
        choices = queries.delivery_choices(reader)
    return _list_page(request, viewer, "deliveries", page, filters, choices=choices, states=params.DELIVERY_STATES)


@dataclass(frozen=True)
class DeliveryTab:
    """A delivery tab's request: every tab renders the delivery's header and the tab bar around its own data."""

    request: Request
    viewer: Viewer
    delivery_id: str

    def render(self, reader: queries.Reader, tab: str, **context: object) -> HTMLResponse:
        delivery, kpis = queries.delivery_header(reader, self.delivery_id)
        header = {"tab": tab, "tabs": TABS, "delivery": delivery, "kpis": kpis}
        return render(self.request, f"delivery_{tab}.html", self.viewer, section="deliveries", **header, **context)


def _delivery_tab(request: Request, viewer: ViewerDep, delivery_id: DeliveryId) -> DeliveryTab:
    return DeliveryTab(request, viewer, delivery_id)


TabDep = Annotated[DeliveryTab, Depends(_delivery_tab)]


@router.get("/deliveries/{delivery_id:path}/sms", response_class=HTMLResponse)
def sms_tab(view: TabDep) -> HTMLResponse:
    with queries.open_reader() as reader:
        return view.render(reader, "sms", sms=queries.sms_content(reader, view.delivery_id))


@router.get("/deliveries/{delivery_id:path}/log", response_class=HTMLResponse)
def log_tab(view: TabDep, filters: params.LogFiltersDep, paging: params.PagingDep) -> HTMLResponse:
    with queries.open_reader() as reader:
        page = queries.delivery_log(reader, view.viewer, view.delivery_id, filters, paging)
        return view.render(reader, "log", page=page, filters=filters, reasons=queries.failure_reasons(reader))


@router.get("/deliveries/{delivery_id:path}/exclusions", response_class=HTMLResponse)
def exclusions_tab(
    view: TabDep, paging: params.PagingDep, reason: Annotated[str | None, Depends(params.reason_filter)]
) -> HTMLResponse:
    with queries.open_reader() as reader:
        exclusions = queries.exclusions(reader, view.viewer, view.delivery_id, reason, paging)
        return view.render(reader, "exclusions", exclusions=exclusions, reason=reason)


@router.get("/deliveries/{delivery_id:path}/tracking", response_class=HTMLResponse)
def tracking_tab(view: TabDep, paging: params.PagingDep) -> HTMLResponse:
    with queries.open_reader() as reader:
        tracking = queries.tracking(reader, view.delivery_id, paging)
        return view.render(reader, "tracking", tracking=tracking, charts=charts.tracking_charts(tracking))


@router.get("/deliveries/{delivery_id:path}/audit", response_class=HTMLResponse)
def audit_tab(
    view: TabDep, paging: params.PagingDep, level: Annotated[params.AuditLevel | None, Depends(params.level_filter)]
) -> HTMLResponse:
    with queries.open_reader() as reader:
        audit = queries.audit(reader, view.viewer, view.delivery_id, level, paging)
        return view.render(reader, "audit", audit=audit, level=level)


@router.get("/deliveries/{delivery_id:path}", response_class=HTMLResponse)
def summary_tab(view: TabDep) -> HTMLResponse:
    with queries.open_reader() as reader:
        summary = queries.delivery_summary(reader, view.delivery_id)
        return view.render(
            reader,
            "summary",
            summary=summary,
            charts=charts.summary_charts(summary),
            tiles=tiles.summary_tiles(summary),
        )


QuarantineActionPath = Annotated[Literal["release", "allowlist"], Path()]
DoneQuery = Annotated[Literal["release", "allowlist", ""] | None, Query()]
"""The action just done, which the page confirms (the POST's redirect sets it)."""


def _confirm(request: Request, viewer: Viewer, action: str, **context: object) -> HTMLResponse:
    """The confirmation page of a release or allowlisting: of one number or of the filtered ones."""
    to_status = queries.QUARANTINE_ACTIONS[action]
    return render(
        request, "quarantine_confirm.html", viewer, section="quarantine", action=action, to_status=to_status, **context
    )


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine_page(
    request: Request,
    viewer: ViewerDep,
    filters: params.QuarantineFiltersDep,
    paging: params.PagingDep,
    done: DoneQuery = None,
    changed: Annotated[int | None, Query(ge=0)] = None,
) -> HTMLResponse:
    with queries.open_reader() as reader:
        page = queries.quarantine(reader, viewer, filters, paging)
        counts = queries.status_counts(reader, viewer, filters)
        reasons = queries.failure_reasons(reader)
    return _list_page(
        request,
        viewer,
        "quarantine",
        page,
        filters,
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
    return _confirm(request, viewer, action, count=len(targets), filters=filters, number=None, from_status=None)


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


def _number_history(viewer: Viewer, number: str) -> m.NumberHistory:
    with queries.open_reader() as reader:
        return queries.number_history(reader, viewer, number)


@router.get("/quarantine/{phone}", response_class=HTMLResponse)
def number_page(request: Request, viewer: ViewerDep, phone: PhonePath, done: DoneQuery = None) -> HTMLResponse:
    number = params.normalise_phone(phone) or ""
    history = _number_history(viewer, number)
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
    history = _number_history(viewer, number)
    from_status = history.quarantine.status if history.quarantine else "Valid"
    return _confirm(request, viewer, action, count=1, filters=None, number=number, from_status=from_status)


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
