"""Response models of the JSON API; the HTML pages render the same objects."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of rows. ``available`` is false, with a ``notice``, while the table does not exist yet."""

    items: list[T]
    total_entries: int = Field(description="Matching rows (at most `count_cap` when `total_is_capped`)")
    total_is_capped: bool = False
    limit: int
    offset: int
    available: bool = True
    notice: str | None = None


class LabelCount(BaseModel):
    label: str
    count: int


class DeliveryRow(BaseModel):
    delivery_id: str
    name: str
    sender: str | None
    provider: str
    created_at: datetime
    scheduled_at: datetime | None
    is_proof: bool
    state: str
    to_deliver: int = Field(description="Adobe @toDeliver: initial population - exclusions (summary.to_deliver)")
    processed: int = Field(description="Adobe @processed: success + errors (delivery_summary.processed)")
    sent: int = Field(description="Adobe @sent: messages handed to the provider (delivery_summary.sent)")
    success: int
    delivered: int
    errors: int = Field(description="Failed messages (delivery_summary.failed)")
    pending: int = Field(description="Status Sent: taken into account by the provider, no final report yet")
    cancelled: int = Field(description="Delivery cancelled: never sent, not errors (delivery_summary.cancelled)")
    success_rate: float | None = Field(description="success / sent, 0..1")
    clicks: int
    human_clicks: int
    refreshed_at: datetime | None


class DeliveryChoices(BaseModel):
    providers: list[str]
    senders: list[str]


class Kpis(BaseModel):
    """The summary row of a delivery, as ``delivery_summary`` holds it, plus rates computed from it."""

    to_deliver: int | None = Field(description="Adobe @toDeliver: initial population minus exclusions")
    processed: int | None = Field(description="Adobe @processed: success + failed")
    sent: int
    delivered: int
    failed: int
    pending: int
    cancelled: int = Field(description="Delivery cancelled: never sent, not errors")
    success: int
    hard: int
    soft: int
    ignored: int
    segments: int
    cost: Decimal | None
    success_rate: float | None
    delivery_rate: float | None
    first_submit_at: datetime | None
    last_report_at: datetime | None
    refreshed_at: datetime
    refreshed_by_run: str | None
    indicators: dict[str, Any] = Field(description="Every column of the delivery's delivery_summary row")


class Delivery(BaseModel):
    delivery_id: str
    name: str
    sender: str | None
    provider: str
    created_at: datetime
    scheduled_at: datetime | None
    is_proof: bool


class FailureCount(BaseModel):
    failure_type: str | None
    failure_reason: str
    count: int


class TimePoint(BaseModel):
    bucket: datetime
    values: dict[str, int]


class DeliverySummary(BaseModel):
    """The Summary tab: KPI tiles, the run that refreshed them, and the chart series."""

    delivery: Delivery
    kpis: Kpis | None = Field(description="Null until the build has summarised this delivery")
    targets: int
    excluded: int | None = Field(description="Null while the exclusion table does not exist")
    clicks: int
    human_clicks: int
    refreshed_by_dag_id: str
    status_breakdown: list[LabelCount]
    failures: list[FailureCount]
    exclusions_by_cause: list[LabelCount]
    latency: list[LabelCount]
    reports_over_time: list[TimePoint]
    timeline_unit: str


class SmsUrl(BaseModel):
    position: int
    url: str
    label: str
    is_opt_out: bool


class SmsContent(BaseModel):
    delivery_id: str
    content: str
    sender: str | None
    provider: str
    encoding: str = Field(description="GSM-7 or UCS-2")
    characters: int
    units: int = Field(description="Septets (GSM-7) or UTF-16 code units (UCS-2)")
    segments: int = Field(description="SMS parts one message takes")
    segments_if_gsm7: int = Field(description="Parts it would take without the characters that force UCS-2")
    non_gsm7: str = Field(description="The characters that force UCS-2")
    single_limit: int
    part_limit: int
    sent_segments: int | None = Field(description="Segments of all the delivery's messages (summary)")
    urls: list[SmsUrl]


class LogRow(BaseModel):
    provider: str
    provider_message_id: str
    recipient_id: str
    phone: str | None
    status: str = Field(description="Status code: pending, delivered, failed or cancelled (stable)")
    status_label: str = Field(description="The status as Adobe's delivery log names it (Sent, Received on mobile...)")
    is_final: bool
    failure_type: str | None
    failure_reason: str | None
    raw_status: str | None
    error_code: str | None
    raw_error: str | None
    submitted_at: datetime
    done_at: datetime | None
    last_report_at: datetime | None
    report_count: int
    segments: int
    price: Decimal | None
    price_unit: str | None


class ExclusionRow(BaseModel):
    recipient_id: str
    phone: str | None
    phone_raw: str | None
    reason: str
    prepared_at: datetime | None = Field(description="The delivery's preparation: when its target list was exported")
    decided_at: datetime | None = Field(description="When the build recorded the exclusion (run run_id)")
    run_id: str | None


class Exclusions(BaseModel):
    causes: list[LabelCount]
    recipients: Page[ExclusionRow]


class TrackedUrl(BaseModel):
    url: str
    total: int
    unique_recipients: int
    human_total: int
    human_unique: int
    in_content: bool


class ClickRow(BaseModel):
    clicked_at: datetime
    recipient_id: str | None
    tracking_token: str | None
    url: str
    method: str
    user_agent: str | None
    human: bool
    bot_reason: str | None = Field(description="user_agent, head_request or too_fast (set by the build)")


class Tracking(BaseModel):
    urls: list[TrackedUrl]
    clicks_over_time: list[TimePoint]
    timeline_unit: str
    log: Page[ClickRow]
    bot_user_agent_tokens: list[str]
    flagged_by_build: bool = Field(description="Bot flags from the build's tracking_log, else from raw clicks")


class AuditEvent(BaseModel):
    at: datetime
    level: str
    event: str | None
    message: str | None
    details: str | None
    dag_id: str | None
    run_id: str | None
    task_id: str | None


class PipelineObject(BaseModel):
    object_id: int
    source: str
    kind: str
    uri: str
    status: str
    rows_read: int
    rows_loaded: int
    rows_duplicate: int
    rows_rejected: int
    started_at: datetime
    finished_at: datetime
    dag_id: str | None
    run_id: str | None
    task_id: str | None


class Audit(BaseModel):
    journal: Page[AuditEvent]
    levels: dict[str, int]
    pipeline: list[PipelineObject]
    refreshed_at: datetime | None
    refreshed_by_run: str | None
    refreshed_by_dag_id: str


class QuarantineRow(BaseModel):
    phone: str
    status: str
    error_count: int
    last_error_at: datetime | None
    last_error_reason: str | None
    first_error_at: datetime | None
    updated_at: datetime
    cause: str


class QuarantineHistoryRow(BaseModel):
    at: datetime
    from_status: str
    to_status: str
    error_count: int
    cause_kind: str
    event_kind: str
    reason: str | None
    delivery_id: str | None
    provider: str | None
    provider_message_id: str | None
    rule: str | None
    actor: str | None


class NumberMessage(BaseModel):
    delivery_id: str
    provider: str
    provider_message_id: str
    status: str
    failure_type: str | None
    failure_reason: str | None
    raw_status: str | None
    error_code: str | None
    submitted_at: datetime
    done_at: datetime | None


class NumberHistory(BaseModel):
    phone: str
    quarantine: QuarantineRow | None
    quarantine_available: bool
    history: list[QuarantineHistoryRow]
    history_available: bool
    messages: list[NumberMessage]
    notice: str | None = None


class QuarantineAction(BaseModel):
    phone: str
    action: str
    from_status: str
    to_status: str
    actor: str


class QuarantineBulkPreview(BaseModel):
    action: str
    to_status: str
    count: int


class QuarantineBulkAction(BaseModel):
    action: str
    to_status: str
    changed: int
    actor: str


class QualificationRow(BaseModel):
    provider: str
    raw_status: str
    error_code: str
    outcome: str
    is_final: bool
    failure_type: str | None
    failure_reason: str | None
    description: str | None
    state: str
    origin: str
    first_text: str | None
    occurrences: int
    updated_at: datetime


class QualificationChange(BaseModel):
    """One edit of a qualification row made in the view, with the requalify run it started."""

    id: int
    provider: str
    raw_status: str
    error_code: str
    actor: str
    at: datetime
    before: dict[str, Any]
    after: dict[str, Any]
    note: str | None
    requalify_run_id: str
    run_state: str | None = Field(description="The run's state in Airflow; null when Airflow does not know it")
    result: str | None = Field(description="What the run changed, from its journal; null until it finished")
    messages: int | None
    deliveries: int | None


class QualificationDetail(BaseModel):
    """A qualification row, its history and what an edit may choose."""

    row: QualificationRow
    history: list[QualificationChange]
    reasons: dict[str, list[str]] = Field(description="Each failure reason with the failure types it allows")
    set_by_file: str | None = Field(description="The overrides file that sets this row (it wins: no edit here)")


class ValidationRow(BaseModel):
    table_name: str
    suite: str
    expectation: str
    expectation_type: str
    column_name: str | None
    description: str
    success: bool | None = Field(description="Null when the check was skipped (its table was missing)")
    critical: bool
    element_count: int | None
    observed_value: str | None
    unexpected_count: int | None
    unexpected_sample: str | None
    run_id: str | None
    validated_at: datetime


class TableValidation(BaseModel):
    table_name: str
    success: bool
    failed: int
    critical_failed: int
    warning_failed: int = 0
    passed: int = 0
    skipped: int
    run_id: str | None
    validated_at: datetime
    newest_validated_at: datetime | None = Field(
        default=None, description="The table's newest run; later than validated_at when the later runs had no rows"
    )
    results: list[ValidationRow]


class QualityTotals(BaseModel):
    critical_failed: int = 0
    warning_failed: int = 0
    passed: int = 0
    skipped: int = 0


class Quality(BaseModel):
    available: bool
    notice: str | None
    tables: list[TableValidation]
    totals: QualityTotals = Field(default_factory=QualityTotals)
    data_docs_available: bool


class Me(BaseModel):
    username: str
    can_manage: bool
    phones_masked: bool
