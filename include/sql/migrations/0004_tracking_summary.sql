-- Tracking, the build's audit events and the summary's indicators (docs/tracking.md, docs/audit.md,
-- docs/kpis.md), and the BI contract: the views of schema sms_tracking_bi. The summary step reads 0003's
-- exclusion and quarantine_history tables; nothing here depends on them.

-- The content profile of each delivery, computed from its text when the delivery file is read
-- (segments.py, tracking.py). Deliveries loaded before this migration get it when next re-delivered.
ALTER TABLE sms_tracking.delivery
    ADD COLUMN encoding             text CHECK (encoding IN ('GSM-7', 'UCS-2')),
    ADD COLUMN content_length       integer,
    ADD COLUMN content_units        integer,
    ADD COLUMN segments_per_message integer,
    ADD COLUMN segments_if_gsm7     integer,
    ADD COLUMN non_gsm7_characters  text,
    ADD COLUMN tracked_urls         jsonb;

-- The audit step journals each landing object once.
ALTER TABLE sms_tracking.source_object ADD COLUMN audited_at timestamptz;

-- Deliveries the current build is rebuilding. The tracking step moves pending_delivery here, the summary
-- step drains it: tracking, audit and summary work on one set while loads queue for the next build.
CREATE TABLE sms_tracking.pending_summary (
    delivery_id text PRIMARY KEY
);

-- High-water marks of tables the build reads by id (the quarantine history).
CREATE TABLE sms_tracking.build_watermark (
    name    text PRIMARY KEY,
    last_id bigint NOT NULL
);

-- How a URL is compared: a click names the URL it reached, the content may write it without scheme.
CREATE FUNCTION sms_tracking.url_key(url text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT lower(regexp_replace(substring(s FROM '^[^/?#]*'), '^www\.', '', 'i')) || rtrim(coalesce(substring(s FROM '[/?#].*$'), ''), '/') FROM (SELECT regexp_replace(btrim(url), '^[A-Za-z][A-Za-z0-9+.-]*://', '') AS s) AS u $$;

COMMENT ON FUNCTION sms_tracking.url_key(text) IS
    'The form URLs are matched in: no scheme, no www., lower-case host, no trailing slash; path and query kept as written';

CREATE TABLE sms_tracking.tracked_url (
    delivery_id text    NOT NULL,
    position    integer NOT NULL,
    url         text    NOT NULL,
    url_key     text    NOT NULL,
    label       text    NOT NULL,
    is_opt_out  boolean NOT NULL,
    PRIMARY KEY (delivery_id, position),
    UNIQUE (delivery_id, url_key)
);
COMMENT ON TABLE sms_tracking.tracked_url IS
    'Adobe''s Tracked URLs: the distinct URLs of each delivery''s content (docs/tracking.md)';
COMMENT ON COLUMN sms_tracking.tracked_url.delivery_id IS 'the delivery whose content holds the URL';
COMMENT ON COLUMN sms_tracking.tracked_url.position IS '1 for the first distinct URL of the content, 2 for the next...';
COMMENT ON COLUMN sms_tracking.tracked_url.url IS 'the URL as written in the content (with or without scheme), trailing punctuation removed';
COMMENT ON COLUMN sms_tracking.tracked_url.url_key IS 'sms_tracking.url_key(url): the form clicks are matched on';
COMMENT ON COLUMN sms_tracking.tracked_url.label IS 'the words just before the URL in the content, else its host and path';
COMMENT ON COLUMN sms_tracking.tracked_url.is_opt_out IS 'the label or the URL path names an opt-out (unsubscribe, STOP, désabonnement...): Adobe''s opt-out URL type';

-- Adobe's tracking logs: each click of the landing click log, joined to its message and URL, flagged.
CREATE TABLE sms_tracking.tracking_log (
    click_key              text PRIMARY KEY,
    delivery_id            text        NOT NULL,
    recipient_id           text,
    tracking_token         text,
    clicker                text        NOT NULL,
    provider               text,
    provider_message_id    text,
    url                    text        NOT NULL,
    url_position           integer,
    label                  text,
    is_opt_out             boolean     NOT NULL,
    clicked_at             timestamptz NOT NULL,
    user_agent             text,
    method                 text        NOT NULL,
    message_at             timestamptz,
    seconds_after_message  numeric(14, 3),
    is_bot                 boolean     NOT NULL,
    bot_reason             text        CHECK (bot_reason IN ('user_agent', 'head_request', 'too_fast')),
    CHECK (is_bot = (bot_reason IS NOT NULL))
);
CREATE INDEX tracking_log_delivery ON sms_tracking.tracking_log (delivery_id, url_position);
COMMENT ON TABLE sms_tracking.tracking_log IS
    'Adobe''s Tracking logs: one row per click, joined to the delivery log and the tracked URLs; bot clicks flagged, never deleted';
COMMENT ON COLUMN sms_tracking.tracking_log.click_key IS 'the click''s key in sms_tracking.click (a hash of its landing row)';
COMMENT ON COLUMN sms_tracking.tracking_log.delivery_id IS 'the delivery whose link was clicked';
COMMENT ON COLUMN sms_tracking.tracking_log.recipient_id IS 'the recipient who clicked, when the click log names one';
COMMENT ON COLUMN sms_tracking.tracking_log.tracking_token IS 'the per-recipient token of the short link, when the click log has one';
COMMENT ON COLUMN sms_tracking.tracking_log.clicker IS 'who clicked, the unit of unique clickers: the recipient id, else token:<tracking token>, else click:<click key>';
COMMENT ON COLUMN sms_tracking.tracking_log.provider IS 'provider of the message the click follows (null when the recipient has no message in the delivery log)';
COMMENT ON COLUMN sms_tracking.tracking_log.provider_message_id IS 'the message the click follows: the recipient''s delivered message of the delivery, else its latest';
COMMENT ON COLUMN sms_tracking.tracking_log.url IS 'the URL the click reached, as the click log gives it';
COMMENT ON COLUMN sms_tracking.tracking_log.url_position IS 'position of the matching tracked URL of the content; null when the clicked URL is not in the content';
COMMENT ON COLUMN sms_tracking.tracking_log.label IS 'label of the matching tracked URL';
COMMENT ON COLUMN sms_tracking.tracking_log.is_opt_out IS 'the clicked URL is a tracked URL flagged opt-out';
COMMENT ON COLUMN sms_tracking.tracking_log.clicked_at IS 'click time';
COMMENT ON COLUMN sms_tracking.tracking_log.user_agent IS 'the client''s User-Agent';
COMMENT ON COLUMN sms_tracking.tracking_log.method IS 'HTTP method of the click (GET, HEAD...)';
COMMENT ON COLUMN sms_tracking.tracking_log.message_at IS 'the bot rule''s reference: when the message reached the handset (done time of its delivered report), else when it was submitted';
COMMENT ON COLUMN sms_tracking.tracking_log.seconds_after_message IS 'clicked_at - message_at in seconds (negative: before it)';
COMMENT ON COLUMN sms_tracking.tracking_log.is_bot IS 'a link preview, scanner or prefetch rather than a person: bot_reason is set';
COMMENT ON COLUMN sms_tracking.tracking_log.bot_reason IS 'first rule that flags the click: user_agent (a token of tracking.BOT_USER_AGENTS), head_request (HEAD), too_fast (less than SMS_TRACKING_BOT_CLICK_SECONDS after message_at, or before it)';

-- The summary's new indicators (docs/kpis.md has every formula). Counts default to 0 for rows written
-- before this migration; the next build of their delivery fills them.
ALTER TABLE sms_tracking.delivery_summary
    ADD COLUMN initial_population    integer NOT NULL DEFAULT 0,
    ADD COLUMN excluded              integer NOT NULL DEFAULT 0,
    ADD COLUMN to_deliver            integer NOT NULL DEFAULT 0,
    ADD COLUMN processed             integer NOT NULL DEFAULT 0,
    ADD COLUMN success_rate          numeric(7, 6),
    ADD COLUMN delivery_rate         numeric(7, 6),
    ADD COLUMN error_rate            numeric(7, 6),
    ADD COLUMN new_quarantines       integer NOT NULL DEFAULT 0,
    ADD COLUMN opt_outs              integer NOT NULL DEFAULT 0,
    ADD COLUMN total_clicks          integer NOT NULL DEFAULT 0,
    ADD COLUMN total_clicks_human    integer NOT NULL DEFAULT 0,
    ADD COLUMN unique_clickers       integer NOT NULL DEFAULT 0,
    ADD COLUMN unique_clickers_human integer NOT NULL DEFAULT 0,
    ADD COLUMN opt_out_clicks        integer NOT NULL DEFAULT 0,
    ADD COLUMN opt_out_clicks_human  integer NOT NULL DEFAULT 0,
    ADD COLUMN click_through_rate    numeric(7, 6),
    ADD COLUMN click_through_rate_raw numeric(7, 6),
    ADD COLUMN cost_unit             text,
    ADD COLUMN latency_p50_s         numeric(12, 1),
    ADD COLUMN latency_p95_s         numeric(12, 1),
    ADD COLUMN latency_max_s         numeric(12, 1),
    ADD COLUMN last_submit_at        timestamptz;

COMMENT ON TABLE sms_tracking.delivery_summary IS
    'One row per delivery with Adobe''s indicators, rebuilt when new data touches the delivery (docs/kpis.md); proofs flagged is_proof';
COMMENT ON COLUMN sms_tracking.delivery_summary.delivery_id IS 'the delivery';
COMMENT ON COLUMN sms_tracking.delivery_summary.is_proof IS 'a proof/test delivery: kept out of the KPI views and the daily breakdowns';
COMMENT ON COLUMN sms_tracking.delivery_summary.initial_population IS 'Adobe @totalTarget: recipients of the target list';
COMMENT ON COLUMN sms_tracking.delivery_summary.excluded IS 'Adobe @reject: target recipients excluded at preparation (sms_tracking.exclusion), all causes';
COMMENT ON COLUMN sms_tracking.delivery_summary.to_deliver IS 'Adobe @toDeliver: initial_population - excluded';
COMMENT ON COLUMN sms_tracking.delivery_summary.processed IS 'Adobe @processed: messages handed to the provider and accounted for, = success + failed (= sent)';
COMMENT ON COLUMN sms_tracking.delivery_summary.sent IS 'Adobe @sent: messages of the send log (handed to the provider) = delivered + failed + pending';
COMMENT ON COLUMN sms_tracking.delivery_summary.delivered IS 'messages whose final report says received on mobile';
COMMENT ON COLUMN sms_tracking.delivery_summary.failed IS 'Adobe @error: messages whose final report is a failure = hard + soft + ignored';
COMMENT ON COLUMN sms_tracking.delivery_summary.pending IS 'messages with no final report yet = sent - delivered - failed';
COMMENT ON COLUMN sms_tracking.delivery_summary.success IS 'Adobe @success: messages taken into account and not failed = delivered + pending';
COMMENT ON COLUMN sms_tracking.delivery_summary.hard IS 'failed messages of failure type Hard';
COMMENT ON COLUMN sms_tracking.delivery_summary.soft IS 'failed messages of failure type Soft';
COMMENT ON COLUMN sms_tracking.delivery_summary.ignored IS 'failed messages of failure type Ignored';
COMMENT ON COLUMN sms_tracking.delivery_summary.success_rate IS 'success / sent (0..1); null when nothing was sent';
COMMENT ON COLUMN sms_tracking.delivery_summary.delivery_rate IS 'delivered / sent (0..1): confirmed handset receipts; null when nothing was sent';
COMMENT ON COLUMN sms_tracking.delivery_summary.error_rate IS 'failed / sent (0..1); null when nothing was sent';
COMMENT ON COLUMN sms_tracking.delivery_summary.new_quarantines IS 'Adobe @newQuarantine: numbers moved into Quarantine by an outcome of this delivery''s messages';
COMMENT ON COLUMN sms_tracking.delivery_summary.opt_outs IS 'numbers moved to Denylisted by this delivery: a provider opt-out on its message, or a STOP from a number it reached, received within SMS_TRACKING_OPT_OUT_DAYS before any later message';
COMMENT ON COLUMN sms_tracking.delivery_summary.total_clicks IS 'all clicks on the delivery''s links, bots included (Adobe cumulated clicks)';
COMMENT ON COLUMN sms_tracking.delivery_summary.total_clicks_human IS 'clicks not flagged as bot';
COMMENT ON COLUMN sms_tracking.delivery_summary.unique_clickers IS 'distinct clickers, bots included (Adobe recipient clicks)';
COMMENT ON COLUMN sms_tracking.delivery_summary.unique_clickers_human IS 'distinct clickers with at least one click not flagged as bot';
COMMENT ON COLUMN sms_tracking.delivery_summary.opt_out_clicks IS 'clicks on the delivery''s opt-out URLs, bots included';
COMMENT ON COLUMN sms_tracking.delivery_summary.opt_out_clicks_human IS 'clicks on opt-out URLs not flagged as bot';
COMMENT ON COLUMN sms_tracking.delivery_summary.click_through_rate IS 'unique_clickers_human / delivered (0..1); null when nothing was delivered';
COMMENT ON COLUMN sms_tracking.delivery_summary.click_through_rate_raw IS 'unique_clickers / delivered (0..1), bots included; null when nothing was delivered';
COMMENT ON COLUMN sms_tracking.delivery_summary.segments IS 'SMS parts of all messages sent (send log)';
COMMENT ON COLUMN sms_tracking.delivery_summary.cost IS 'sum of the prices the providers reported (absolute values); null when none did';
COMMENT ON COLUMN sms_tracking.delivery_summary.cost_unit IS 'currency of cost; mixed when the prices use several';
COMMENT ON COLUMN sms_tracking.delivery_summary.latency_p50_s IS 'median seconds from submit to the final report''s time (done date), over final messages; negative gaps count 0';
COMMENT ON COLUMN sms_tracking.delivery_summary.latency_p95_s IS '95th percentile (interpolated) of the same latency';
COMMENT ON COLUMN sms_tracking.delivery_summary.latency_max_s IS 'largest latency';
COMMENT ON COLUMN sms_tracking.delivery_summary.first_submit_at IS 'start of the send window: first message submitted';
COMMENT ON COLUMN sms_tracking.delivery_summary.last_submit_at IS 'end of the send window: last message submitted';
COMMENT ON COLUMN sms_tracking.delivery_summary.last_report_at IS 'time of the latest report of any message';
COMMENT ON COLUMN sms_tracking.delivery_summary.refreshed_at IS 'when this row was computed';
COMMENT ON COLUMN sms_tracking.delivery_summary.refreshed_by_run IS 'Airflow run id of the build that computed it';

CREATE TABLE sms_tracking.delivery_exclusion_summary (
    delivery_id text    NOT NULL,
    reason      text    NOT NULL,
    recipients  integer NOT NULL,
    PRIMARY KEY (delivery_id, reason)
);
COMMENT ON TABLE sms_tracking.delivery_exclusion_summary IS 'Adobe''s Exclusion causes: excluded recipients per delivery and cause';
COMMENT ON COLUMN sms_tracking.delivery_exclusion_summary.delivery_id IS 'the delivery';
COMMENT ON COLUMN sms_tracking.delivery_exclusion_summary.reason IS 'exclusion cause (Address empty, Invalid number, Duplicate, Quarantined, Denylisted, Control group)';
COMMENT ON COLUMN sms_tracking.delivery_exclusion_summary.recipients IS 'target recipients excluded for this cause';

CREATE TABLE sms_tracking.delivery_failure_summary (
    delivery_id    text    NOT NULL,
    failure_type   text,
    failure_reason text,
    messages       integer NOT NULL,
    segments       integer NOT NULL,
    cost           numeric(14, 5)
);
CREATE INDEX delivery_failure_summary_delivery ON sms_tracking.delivery_failure_summary (delivery_id);
COMMENT ON TABLE sms_tracking.delivery_failure_summary IS 'Errors of each delivery by failure type and reason';
COMMENT ON COLUMN sms_tracking.delivery_failure_summary.delivery_id IS 'the delivery';
COMMENT ON COLUMN sms_tracking.delivery_failure_summary.failure_type IS 'Hard, Soft or Ignored';
COMMENT ON COLUMN sms_tracking.delivery_failure_summary.failure_reason IS 'Adobe failure reason (User unknown, Unreachable, ...)';
COMMENT ON COLUMN sms_tracking.delivery_failure_summary.messages IS 'failed messages of this type and reason';
COMMENT ON COLUMN sms_tracking.delivery_failure_summary.segments IS 'their SMS parts';
COMMENT ON COLUMN sms_tracking.delivery_failure_summary.cost IS 'what the providers charged for them: the cost of failure';

CREATE TABLE sms_tracking.delivery_url_summary (
    delivery_id            text    NOT NULL,
    url                    text    NOT NULL,
    url_position           integer,
    label                  text,
    is_opt_out             boolean NOT NULL,
    total_clicks           integer NOT NULL,
    total_clicks_human     integer NOT NULL,
    unique_clickers        integer NOT NULL,
    unique_clickers_human  integer NOT NULL,
    click_through_rate     numeric(7, 6),
    click_through_rate_raw numeric(7, 6),
    PRIMARY KEY (delivery_id, url)
);
COMMENT ON TABLE sms_tracking.delivery_url_summary IS
    'Click indicators per delivery and URL: every tracked URL (even unclicked) and every clicked URL not in the content';
COMMENT ON COLUMN sms_tracking.delivery_url_summary.delivery_id IS 'the delivery';
COMMENT ON COLUMN sms_tracking.delivery_url_summary.url IS 'the tracked URL as written in the content, or the clicked URL when it is not in the content';
COMMENT ON COLUMN sms_tracking.delivery_url_summary.url_position IS 'position of the tracked URL in the content; null for a clicked URL not in it';
COMMENT ON COLUMN sms_tracking.delivery_url_summary.label IS 'label of the tracked URL';
COMMENT ON COLUMN sms_tracking.delivery_url_summary.is_opt_out IS 'an opt-out URL: its clicks are the delivery''s opt-out clicks';
COMMENT ON COLUMN sms_tracking.delivery_url_summary.total_clicks IS 'clicks on this URL, bots included';
COMMENT ON COLUMN sms_tracking.delivery_url_summary.total_clicks_human IS 'clicks on this URL not flagged as bot';
COMMENT ON COLUMN sms_tracking.delivery_url_summary.unique_clickers IS 'distinct clickers of this URL, bots included';
COMMENT ON COLUMN sms_tracking.delivery_url_summary.unique_clickers_human IS 'distinct clickers of this URL with a click not flagged as bot';
COMMENT ON COLUMN sms_tracking.delivery_url_summary.click_through_rate IS 'unique_clickers_human / the delivery''s delivered (0..1)';
COMMENT ON COLUMN sms_tracking.delivery_url_summary.click_through_rate_raw IS 'unique_clickers / the delivery''s delivered (0..1)';

-- The days (UTC, of submit time) each delivery's messages fell on at its last summary: the days whose
-- breakdowns must be recomputed when it changes, including days it no longer touches.
CREATE TABLE sms_tracking.summary_delivery_day (
    delivery_id text NOT NULL,
    day         date NOT NULL,
    PRIMARY KEY (delivery_id, day)
);
COMMENT ON TABLE sms_tracking.summary_delivery_day IS 'Bookkeeping of the incremental daily breakdowns: the submit days of each delivery''s messages';
COMMENT ON COLUMN sms_tracking.summary_delivery_day.delivery_id IS 'the delivery';
COMMENT ON COLUMN sms_tracking.summary_delivery_day.day IS 'a UTC day on which one of its messages was submitted';

CREATE TABLE sms_tracking.daily_provider (
    day           date    NOT NULL,
    provider      text    NOT NULL,
    deliveries    integer NOT NULL,
    sent          integer NOT NULL,
    delivered     integer NOT NULL,
    failed        integer NOT NULL,
    pending       integer NOT NULL,
    success       integer NOT NULL,
    hard          integer NOT NULL,
    soft          integer NOT NULL,
    ignored       integer NOT NULL,
    segments      integer NOT NULL,
    cost          numeric(14, 5),
    latency_p50_s numeric(12, 1),
    latency_p95_s numeric(12, 1),
    latency_max_s numeric(12, 1),
    PRIMARY KEY (day, provider)
);
COMMENT ON TABLE sms_tracking.daily_provider IS 'Messages per UTC submit day and provider, proofs excluded (docs/kpis.md)';

CREATE TABLE sms_tracking.daily_country (
    day       date    NOT NULL,
    country   text    NOT NULL,
    sent      integer NOT NULL,
    delivered integer NOT NULL,
    failed    integer NOT NULL,
    pending   integer NOT NULL,
    success   integer NOT NULL,
    hard      integer NOT NULL,
    soft      integer NOT NULL,
    ignored   integer NOT NULL,
    segments  integer NOT NULL,
    cost      numeric(14, 5),
    PRIMARY KEY (day, country)
);
COMMENT ON TABLE sms_tracking.daily_country IS 'Messages per UTC submit day and destination country, proofs excluded (docs/kpis.md)';

CREATE TABLE sms_tracking.daily_failure_reason (
    day            date    NOT NULL,
    provider       text    NOT NULL,
    failure_type   text,
    failure_reason text,
    failed         integer NOT NULL,
    segments       integer NOT NULL,
    cost           numeric(14, 5)
);
CREATE INDEX daily_failure_reason_day ON sms_tracking.daily_failure_reason (day);
COMMENT ON TABLE sms_tracking.daily_failure_reason IS 'Failed messages per UTC submit day, provider, failure type and reason, proofs excluded';

COMMENT ON COLUMN sms_tracking.daily_provider.day IS 'UTC day the messages were submitted (their outcome counts on that day, however late it came)';
COMMENT ON COLUMN sms_tracking.daily_provider.provider IS 'provider the messages were submitted to';
COMMENT ON COLUMN sms_tracking.daily_provider.deliveries IS 'deliveries with messages that day';
COMMENT ON COLUMN sms_tracking.daily_country.day IS 'UTC day the messages were submitted (their outcome counts on that day, however late it came)';
COMMENT ON COLUMN sms_tracking.daily_country.country IS 'ISO 3166 code of the main country of the number''s E.164 calling code (+1: US, +44: GB...); 001 non-geographic, ZZ no E.164 number';
COMMENT ON COLUMN sms_tracking.daily_failure_reason.day IS 'UTC day the messages were submitted (their outcome counts on that day, however late it came)';
COMMENT ON COLUMN sms_tracking.daily_failure_reason.provider IS 'provider the messages were submitted to';
COMMENT ON COLUMN sms_tracking.daily_failure_reason.failure_type IS 'Hard, Soft or Ignored';
COMMENT ON COLUMN sms_tracking.daily_failure_reason.failure_reason IS 'Adobe failure reason';
COMMENT ON COLUMN sms_tracking.daily_failure_reason.failed IS 'failed messages';
COMMENT ON COLUMN sms_tracking.daily_failure_reason.segments IS 'their SMS parts';
COMMENT ON COLUMN sms_tracking.daily_failure_reason.cost IS 'what the providers charged for them';

-- The daily tables share the message counts' meaning with the summary, and its comments: include/sql/views/
-- dictionary.yaml copies them (rewritten.toml says why the copy left).

COMMENT ON COLUMN sms_tracking.delivery.encoding IS 'GSM-7, or UCS-2 when a character of the content is outside the GSM 03.38 alphabet';
COMMENT ON COLUMN sms_tracking.delivery.content_length IS 'characters of the content, as a person counts them';
COMMENT ON COLUMN sms_tracking.delivery.content_units IS 'size in the encoding: septets (GSM-7, extension characters count 2) or UTF-16 code units (UCS-2)';
COMMENT ON COLUMN sms_tracking.delivery.segments_per_message IS 'SMS parts one message of this content takes (160/153 septets, 70/67 UCS-2 units)';
COMMENT ON COLUMN sms_tracking.delivery.segments_if_gsm7 IS 'parts it would take if its non-GSM characters were GSM ones: segments_per_message - segments_if_gsm7 is what UCS-2 costs per message';
COMMENT ON COLUMN sms_tracking.delivery.non_gsm7_characters IS 'the distinct characters that force UCS-2';
COMMENT ON COLUMN sms_tracking.delivery.tracked_urls IS 'the content''s URLs as found at load: [{position, url, label, is_opt_out}]; expanded into tracked_url by the build';
COMMENT ON COLUMN sms_tracking.source_object.audited_at IS 'when the build journaled this object in audit_event (reports ingested, rejects)';

CREATE INDEX delivery_log_recipient ON sms_tracking.delivery_log (delivery_id, recipient_id);
CREATE INDEX delivery_log_submitted ON sms_tracking.delivery_log (submitted_at);
CREATE INDEX source_object_unaudited ON sms_tracking.source_object (object_id) WHERE audited_at IS NULL;

-- The BI contract: one view per subject, proofs kept out (except proof_delivery), every column commented.
CREATE SCHEMA sms_tracking_bi;
COMMENT ON SCHEMA sms_tracking_bi IS 'Views for BI tools: the KPI contract of docs/kpis.md; proof deliveries only in proof_delivery';

-- Its views are defined in include/sql/views (created after the migrations; rewritten.toml says why they left).
