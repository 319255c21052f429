"""A delivery's tracking tab: the URLs clicked, human and bot clicks, and the click log."""

from __future__ import annotations

from sms_tracking.ui import bots, datamodels as m, params
from sms_tracking.ui.queries.base import (
    ListQuery,
    Reader,
    preferring_summary,
    time_unit,
)
from sms_tracking.ui.queries.delivery import delivery_row


def tracking(reader: Reader, delivery_id: str, paging: params.Paging) -> m.Tracking:
    from sms_tracking.tracking import extract_urls

    row = delivery_row(reader, delivery_id)
    args = {**bots.human_params(), "delivery_id": delivery_id, "limit": paging.limit, "offset": paging.offset}
    in_content = {u.url for u in extract_urls(row["content"])}
    span = reader.row("tracking_span", args) or {}
    unit = time_unit(span.get("first_at"), span.get("last_at"))
    wanted = {_url_key(url): url for url in in_content}
    found = preferring_summary(reader, "delivery_url_summary", "url_summary", "tracking_urls", args)
    urls = [
        m.TrackedUrl(
            **{k: r[k] for k in ("url", "total", "unique_recipients", "human_total", "human_unique")},
            in_content=_url_key(r["url"]) in wanted,
        )
        for r in found
    ]
    clicked = {_url_key(u.url) for u in urls}
    urls += [
        m.TrackedUrl(url=url, total=0, unique_recipients=0, human_total=0, human_unique=0, in_content=True)
        for key, url in sorted(wanted.items())
        if key not in clicked
    ]
    log_query = tracking_log_query(reader, delivery_id)
    built = log_query.name == "tracking_log_built"
    log = reader.page_of(log_query, paging.limit, paging.offset)
    timeline = reader.rows("tracking_timeline_built" if built else "tracking_timeline", {**args, "unit": unit})
    return m.Tracking(
        urls=urls,
        clicks_over_time=[
            m.TimePoint(bucket=r["bucket"], values={"clicks": r["clicks"], "human_clicks": r["human_clicks"]})
            for r in timeline
        ],
        timeline_unit=unit,
        log=m.Page[m.ClickRow](
            items=log,
            total_entries=sum(u.total for u in urls),
            limit=paging.limit,
            offset=paging.offset,
        ),
        bot_user_agent_tokens=bots.bot_tokens(),
        flagged_by_build=built,
    )


def tracking_log_query(reader: Reader, delivery_id: str) -> ListQuery:
    """A delivery's click log, as the build flagged it once it has the delivery, else from the raw clicks."""
    args = {**bots.human_params(), "delivery_id": delivery_id}
    built = "tracking_log" in reader.present("tracking_log") and bool(
        reader.rows("tracking_log_built", {**args, "limit": 1, "offset": 0})
    )
    return ListQuery(
        "tracking_log_built" if built else "tracking_log",
        args,
        {},
        lambda r: m.ClickRow(**{k: r[k] for k in m.ClickRow.model_fields}),
    )


def _url_key(url: str) -> str:
    """A URL as the SMS text and the click log may both write it (scheme, www. and final slash dropped)."""
    return url.lower().removeprefix("https://").removeprefix("http://").removeprefix("www.").rstrip("/")
