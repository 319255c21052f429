"""Pure helpers of the UI: masking, relative links, allow-lists, chart specs."""

from __future__ import annotations

from typing import Any

import pytest

from sms_tracking.ui import params
from sms_tracking.ui.masking import mask_phone, mask_text
from sms_tracking.ui.templating import query_with, root_of


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("+33612345678", "+336••••••78"), ("+15550199", "+155•••99"), ("+1234", "•••••"), (None, None), ("", "")],
)
def test_mask_phone_keeps_the_country_prefix_and_two_digits(phone: str | None, masked: str | None) -> None:
    assert mask_phone(phone) == masked


def test_mask_text_masks_numbers_inside_raw_provider_text() -> None:
    text = "MessageSid=SM1&To=%2B15550199&ErrorCode=30005 from +33612345678, id 123"
    assert mask_text(text) == "MessageSid=SM1&To=%2B1•••••99&ErrorCode=30005 from +336••••••78, id 123"


class FakeRequest:
    def __init__(self, path: str, root_path: str = "", query: dict[str, str] | None = None) -> None:
        self.scope = {"path": path, "root_path": root_path}
        self.query_params = query or {}


@pytest.mark.parametrize(
    ("path", "root_path", "root"),
    [
        ("/", "", "./"),
        ("/quarantine", "", "./"),
        ("/deliveries/D1", "", "../"),
        ("/deliveries/D1/log", "", "../../"),
        ("/airflow/sms-tracking/deliveries/D1/log", "/airflow/sms-tracking", "../../"),
        ("/airflow/sms-tracking/", "/airflow/sms-tracking", "./"),
    ],
)
def test_links_climb_back_to_the_app_root(path: str, root_path: str, root: str) -> None:
    assert root_of(FakeRequest(path, root_path)) == root  # type: ignore[arg-type]


def test_query_with_changes_only_what_it_is_told() -> None:
    request: Any = FakeRequest("/", query={"q": "a&b", "offset": "50", "sort": "name"})
    assert query_with(request, offset=None) == "?q=a%26b&sort=name"
    assert query_with(request, sort="sent", dir="desc") == "?q=a%26b&offset=50&sort=sent&dir=desc"


def test_order_by_uses_only_allow_listed_sql() -> None:
    assert params.order_by(params.DELIVERY_SORTS, "success_rate", "desc", "delivery_id", nulls_last=True) == (
        "success_rate DESC NULLS LAST, delivery_id DESC"
    )
    assert params.order_by(params.LOG_SORTS, "done_at", "asc", "l.provider, l.provider_message_id") == (
        "l.done_at ASC, l.provider ASC, l.provider_message_id ASC"
    )
    with pytest.raises(KeyError):
        params.order_by(params.DELIVERY_SORTS, "1; DROP TABLE x", "asc", "delivery_id")


def test_quarantine_statuses_match_the_state_machine() -> None:
    from sms_tracking import quarantine

    assert params.QUARANTINE_STATUSES == quarantine.STATUSES


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("33612345678", "+33612345678"),
        ("(+1) 555-0199", "+15550199"),
        ("", None),
        (None, None),
    ],
)
def test_searched_numbers_are_normalised(raw: str | None, e164: str | None) -> None:
    assert params.normalise_phone(raw) == e164


def test_like_patterns_escape_wildcards() -> None:
    assert params.like_prefix("+33_1%") == "+33\\_1\\%%"


def test_time_charts_have_every_bucket_on_a_time_axis() -> None:
    from datetime import UTC, datetime

    from sms_tracking.ui import charts, datamodels as m

    hour = [datetime(2026, 5, 4, h, tzinfo=UTC) for h in (8, 11)]
    points = [m.TimePoint(bucket=hour[0], values={"clicks": 3}), m.TimePoint(bucket=hour[1], values={"clicks": 1})]
    spec = charts.timeline(points, "hour", {"clicks": ("All clicks", "primary")}, kind="line")
    assert spec["labels"] == ["2026-05-04 08:00", "2026-05-04 09:00", "2026-05-04 10:00", "2026-05-04 11:00"]
    assert spec["series"][0]["data"] == [3, 0, 0, 1]
    assert spec["x"][1] - spec["x"][0] == spec["time_unit_ms"] == 3_600_000
    assert charts.timeline([], "day", {"clicks": ("All clicks", "primary")})["x"] == []


@pytest.mark.integration
def test_the_demo_summary_names_every_column_and_counts_successes(extras_template: str) -> None:
    from sms_tracking_dev.demo import summary_table

    header, rule, *_ = summary_table(extras_template).splitlines()
    columns = header.split()
    assert "" not in columns and "success" in columns and "proof" in columns
    assert len(rule.split()) + 1 == len(columns)  # "success %" is one column of two words
