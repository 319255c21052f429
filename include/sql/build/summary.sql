-- Last step of the build: recompute the summary of every delivery this build rebuilds (pending_summary,
-- filled by the tracking step): its indicators, its breakdowns by exclusion cause, failure reason and
-- URL, and the daily breakdowns of the days its messages were submitted on, and only those days.
-- docs/kpis.md gives each formula; the names below are the same.
SELECT pg_advisory_xact_lock(sms_tracking.build_lock());

CREATE TEMP TABLE build_deliveries (delivery_id text PRIMARY KEY) ON COMMIT DROP;

WITH taken AS (DELETE FROM sms_tracking.pending_summary RETURNING delivery_id)
INSERT INTO build_deliveries SELECT DISTINCT delivery_id FROM taken;

ANALYZE build_deliveries;

-- The delivery log's rows of these deliveries, read once (one scan when they are most of the log, the delivery
-- index for a few): the figures per delivery below sort this table, where the delivery index of the log read a
-- first load's million rows in random order (2-3 s of CPU).
CREATE TEMP TABLE build_log ON COMMIT DROP AS
SELECT l.delivery_id, l.provider_message_id, l.phone_e164, l.status, l.failure_type, l.failure_reason, l.segments,
       l.price, l.price_unit, l.is_final, l.submitted_at, l.done_at, l.last_report_at
  FROM sms_tracking.delivery_log l JOIN build_deliveries b USING (delivery_id);
ANALYZE build_log;

-- Messages: the delivery log.
CREATE TEMP TABLE build_messages ON COMMIT DROP AS
SELECT b.delivery_id,
       count(l.provider_message_id) AS sent,
       count(*) FILTER (WHERE l.status = 'delivered') AS delivered,
       count(*) FILTER (WHERE l.status = 'failed') AS failed,
       count(*) FILTER (WHERE l.status = 'pending') AS pending,
       count(*) FILTER (WHERE l.status = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE l.failure_type = 'Hard') AS hard,
       count(*) FILTER (WHERE l.failure_type = 'Soft') AS soft,
       count(*) FILTER (WHERE l.failure_type = 'Ignored') AS ignored,
       coalesce(sum(l.segments), 0) AS segments,
       sum(l.price) AS cost,
       CASE WHEN count(DISTINCT l.price_unit) > 1 THEN 'mixed' ELSE max(l.price_unit) END AS cost_unit,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM greatest(l.done_at - l.submitted_at, interval '0')))
           FILTER (WHERE l.is_final AND l.done_at IS NOT NULL) AS latency_p50_s,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM greatest(l.done_at - l.submitted_at, interval '0')))
           FILTER (WHERE l.is_final AND l.done_at IS NOT NULL) AS latency_p95_s,
       max(extract(epoch FROM greatest(l.done_at - l.submitted_at, interval '0')))
           FILTER (WHERE l.is_final AND l.done_at IS NOT NULL) AS latency_max_s,
       min(l.submitted_at) AS first_submit_at,
       max(l.submitted_at) AS last_submit_at,
       max(l.last_report_at) AS last_report_at
  FROM build_deliveries b
  LEFT JOIN build_log l USING (delivery_id)
 GROUP BY b.delivery_id;

-- Recipients: the target list and the exclusions of the preparation.
CREATE TEMP TABLE build_recipients ON COMMIT DROP AS
SELECT b.delivery_id,
       (SELECT count(*) FROM sms_tracking.target t WHERE t.delivery_id = b.delivery_id) AS initial_population,
       (SELECT count(*) FROM sms_tracking.exclusion e WHERE e.delivery_id = b.delivery_id) AS excluded
  FROM build_deliveries b;

-- Numbers: transitions of the quarantine history. New quarantines are moves into Quarantine caused by
-- the delivery's messages; opt-outs are moves to Denylisted caused by its messages (provider opt-out)
-- or by a STOP from a number it reached, when its message is the number's latest submitted within
-- SMS_TRACKING_OPT_OUT_DAYS before the STOP. STOPs are read from the numbers these deliveries reached
-- (a semi-join: a first load's million log rows need not be made distinct first).
CREATE TEMP TABLE build_stops ON COMMIT DROP AS
SELECT answered.delivery_id, h.phone_e164
  FROM sms_tracking.quarantine_history h
 CROSS JOIN LATERAL (
        SELECT l.delivery_id
          FROM sms_tracking.delivery_log l
         WHERE l.phone_e164 = h.phone_e164 AND l.submitted_at <= h.at
           AND l.submitted_at > h.at - make_interval(days => %(opt_out_days)s::integer)
         ORDER BY l.submitted_at DESC, l.delivery_id DESC
         LIMIT 1) answered
 WHERE h.cause_kind = 'inbound' AND h.to_status = 'Denylisted' AND h.from_status <> 'Denylisted'
   AND h.phone_e164 IN (SELECT phone_e164 FROM build_log);

-- Read per delivery below: without the index, each delivery scanned every stop (5,000 deliveries x 15,000
-- stops on a 1M first load: 4.9 s).
CREATE INDEX ON build_stops (delivery_id);
ANALYZE build_stops;

CREATE TEMP TABLE build_numbers ON COMMIT DROP AS
SELECT b.delivery_id,
       (SELECT count(DISTINCT h.phone_e164) FROM sms_tracking.quarantine_history h
         WHERE h.delivery_id = b.delivery_id AND h.to_status = 'Quarantine' AND h.from_status <> 'Quarantine')
           AS new_quarantines,
       (SELECT count(DISTINCT phone_e164) FROM (
            SELECT h.phone_e164 FROM sms_tracking.quarantine_history h
             WHERE h.delivery_id = b.delivery_id AND h.to_status = 'Denylisted' AND h.from_status <> 'Denylisted'
            UNION ALL
            SELECT s.phone_e164 FROM build_stops s WHERE s.delivery_id = b.delivery_id
        ) opted_out) AS opt_outs
  FROM build_deliveries b;

-- Clicks: the tracking log the tracking step rebuilt.
CREATE TEMP TABLE build_clicks ON COMMIT DROP AS
SELECT b.delivery_id,
       count(t.click_key) AS total_clicks,
       count(*) FILTER (WHERE NOT t.is_bot) AS total_clicks_human,
       count(DISTINCT t.clicker) AS unique_clickers,
       count(DISTINCT t.clicker) FILTER (WHERE NOT t.is_bot) AS unique_clickers_human,
       count(*) FILTER (WHERE t.is_opt_out) AS opt_out_clicks,
       count(*) FILTER (WHERE t.is_opt_out AND NOT t.is_bot) AS opt_out_clicks_human
  FROM build_deliveries b
  LEFT JOIN sms_tracking.tracking_log t USING (delivery_id)
 GROUP BY b.delivery_id;

INSERT INTO sms_tracking.delivery_summary AS s (
    delivery_id, is_proof, initial_population, excluded, to_deliver, processed, sent, delivered, failed, pending,
    cancelled, success, hard, soft, ignored, success_rate, delivery_rate, error_rate, new_quarantines, opt_outs,
    total_clicks, total_clicks_human, unique_clickers, unique_clickers_human, opt_out_clicks, opt_out_clicks_human,
    click_through_rate, click_through_rate_raw, segments, cost, cost_unit, latency_p50_s, latency_p95_s,
    latency_max_s, first_submit_at, last_submit_at, last_report_at, refreshed_at, refreshed_by_run)
SELECT m.delivery_id,
       coalesce(dv.is_proof, false),
       r.initial_population,
       r.excluded,
       r.initial_population - r.excluded,
       (m.delivered + m.pending) + m.failed,
       m.sent, m.delivered, m.failed, m.pending, m.cancelled,
       m.delivered + m.pending,
       m.hard, m.soft, m.ignored,
       sms_tracking.success_rate(m.delivered + m.pending, m.sent),
       round(m.delivered::numeric / nullif(m.sent, 0), 6),
       round(m.failed::numeric / nullif(m.sent, 0), 6),
       n.new_quarantines, n.opt_outs,
       c.total_clicks, c.total_clicks_human, c.unique_clickers, c.unique_clickers_human,
       c.opt_out_clicks, c.opt_out_clicks_human,
       round(c.unique_clickers_human::numeric / nullif(m.delivered, 0), 6),
       round(c.unique_clickers::numeric / nullif(m.delivered, 0), 6),
       m.segments, m.cost, m.cost_unit,
       round(m.latency_p50_s::numeric, 1), round(m.latency_p95_s::numeric, 1), round(m.latency_max_s::numeric, 1),
       m.first_submit_at, m.last_submit_at, m.last_report_at,
       now(), %(run_id)s
  FROM build_messages m
  JOIN build_recipients r USING (delivery_id)
  JOIN build_numbers n USING (delivery_id)
  JOIN build_clicks c USING (delivery_id)
  LEFT JOIN sms_tracking.delivery dv USING (delivery_id)
ON CONFLICT (delivery_id) DO UPDATE
   SET is_proof = excluded.is_proof, initial_population = excluded.initial_population,
       excluded = excluded.excluded, to_deliver = excluded.to_deliver, processed = excluded.processed,
       sent = excluded.sent, delivered = excluded.delivered, failed = excluded.failed, pending = excluded.pending,
       cancelled = excluded.cancelled, success = excluded.success, hard = excluded.hard, soft = excluded.soft,
       ignored = excluded.ignored,
       success_rate = excluded.success_rate, delivery_rate = excluded.delivery_rate,
       error_rate = excluded.error_rate, new_quarantines = excluded.new_quarantines, opt_outs = excluded.opt_outs,
       total_clicks = excluded.total_clicks, total_clicks_human = excluded.total_clicks_human,
       unique_clickers = excluded.unique_clickers, unique_clickers_human = excluded.unique_clickers_human,
       opt_out_clicks = excluded.opt_out_clicks, opt_out_clicks_human = excluded.opt_out_clicks_human,
       click_through_rate = excluded.click_through_rate, click_through_rate_raw = excluded.click_through_rate_raw,
       segments = excluded.segments, cost = excluded.cost, cost_unit = excluded.cost_unit,
       latency_p50_s = excluded.latency_p50_s, latency_p95_s = excluded.latency_p95_s,
       latency_max_s = excluded.latency_max_s, first_submit_at = excluded.first_submit_at,
       last_submit_at = excluded.last_submit_at, last_report_at = excluded.last_report_at,
       refreshed_at = excluded.refreshed_at, refreshed_by_run = excluded.refreshed_by_run;

-- Breakdowns of each delivery: exclusion causes, failure types and reasons, URLs.
DELETE FROM sms_tracking.delivery_exclusion_summary x USING build_deliveries b WHERE x.delivery_id = b.delivery_id;
INSERT INTO sms_tracking.delivery_exclusion_summary (delivery_id, reason, recipients)
SELECT e.delivery_id, e.reason, count(*)
  FROM sms_tracking.exclusion e
  JOIN build_deliveries b USING (delivery_id)
 GROUP BY e.delivery_id, e.reason;

DELETE FROM sms_tracking.delivery_failure_summary f USING build_deliveries b WHERE f.delivery_id = b.delivery_id;
INSERT INTO sms_tracking.delivery_failure_summary (delivery_id, failure_type, failure_reason, messages, segments, cost)
SELECT l.delivery_id, l.failure_type, l.failure_reason, count(*), sum(l.segments), sum(l.price)
  FROM build_log l
 WHERE l.status = 'failed'
 GROUP BY l.delivery_id, l.failure_type, l.failure_reason;

DELETE FROM sms_tracking.delivery_url_summary u USING build_deliveries b WHERE u.delivery_id = b.delivery_id;
INSERT INTO sms_tracking.delivery_url_summary (
    delivery_id, url, url_position, label, is_opt_out, total_clicks, total_clicks_human, unique_clickers,
    unique_clickers_human, click_through_rate, click_through_rate_raw)
SELECT u.delivery_id, u.url, u.url_position, u.label, u.is_opt_out,
       count(t.click_key), count(*) FILTER (WHERE NOT t.is_bot),
       count(DISTINCT t.clicker), count(DISTINCT t.clicker) FILTER (WHERE NOT t.is_bot),
       round((count(DISTINCT t.clicker) FILTER (WHERE NOT t.is_bot))::numeric / nullif(m.delivered, 0), 6),
       round(count(DISTINCT t.clicker)::numeric / nullif(m.delivered, 0), 6)
  FROM (SELECT tu.delivery_id, tu.url, tu.position AS url_position, tu.label, tu.is_opt_out
          FROM sms_tracking.tracked_url tu JOIN build_deliveries b USING (delivery_id)
        UNION
        SELECT tl.delivery_id, tl.url, NULL, NULL, false
          FROM sms_tracking.tracking_log tl JOIN build_deliveries b USING (delivery_id)
         WHERE tl.url_position IS NULL) u
  JOIN build_messages m USING (delivery_id)
  LEFT JOIN sms_tracking.tracking_log t
         ON t.delivery_id = u.delivery_id
        AND (t.url_position = u.url_position OR (u.url_position IS NULL AND t.url_position IS NULL AND t.url = u.url))
 GROUP BY u.delivery_id, u.url, u.url_position, u.label, u.is_opt_out, m.delivered;

-- Daily breakdowns: the UTC submit days of these deliveries' messages, now and at their last summary,
-- recomputed whole from every non-proof message of those days.
CREATE TEMP TABLE build_delivery_day ON COMMIT DROP AS
SELECT DISTINCT l.delivery_id, (l.submitted_at AT TIME ZONE 'UTC')::date AS day
  FROM build_log l;

CREATE TEMP TABLE build_days ON COMMIT DROP AS
SELECT d.day FROM sms_tracking.summary_delivery_day d JOIN build_deliveries b USING (delivery_id)
UNION
SELECT day FROM build_delivery_day;
-- Its size decides how the days' messages are read below: delivery by delivery for a few days, in one scan
-- of the log when the days are most of it (a first load: 1M index probes took 4x longer).
ANALYZE build_days;

DELETE FROM sms_tracking.summary_delivery_day d USING build_deliveries b WHERE d.delivery_id = b.delivery_id;
INSERT INTO sms_tracking.summary_delivery_day (delivery_id, day)
SELECT delivery_id, day FROM build_delivery_day;

-- Calling codes are prefix-free (ITU E.164): at most one of a number's first 1, 2 or 3 digits is one. Keyed
-- by every string of 1 to 3 digits that starts with a code (the shortest, should two), so that a number's
-- country is one lookup of its first 3 digits (3 joins, one per length, took most of the statement).
CREATE TEMP TABLE build_calling_code ON COMMIT DROP AS
SELECT DISTINCT ON (c.code || s.suffix) c.code || s.suffix AS code, c.region
  FROM unnest(%(calling_codes)s::text[], %(calling_regions)s::text[]) AS c(code, region)
 CROSS JOIN (SELECT '' AS suffix UNION ALL SELECT n::text FROM generate_series(0, 9) AS n
             UNION ALL SELECT lpad(n::text, 2, '0') FROM generate_series(0, 99) AS n) s
 WHERE length(c.code || s.suffix) <= 3
 ORDER BY c.code || s.suffix, length(c.code);
ANALYZE build_calling_code;

-- A day's messages are read delivery by delivery: summary_delivery_day names every delivery with messages
-- on the day (each delivery's days are refreshed above whenever it changes), and a delivery's rows of one
-- day are one range of the log's (delivery_id, submitted_at) index, found by an equality the planner
-- estimates from the statistics. Read by submit time alone, the range's bounds were unknown when planned:
-- the planner guessed its rows and, on a 10M history, once chose to scan the whole log for 2 days (214,000
-- blocks instead of 7,000).
CREATE TEMP TABLE build_day_messages ON COMMIT DROP AS
SELECT d.day, l.delivery_id, l.provider, l.status, l.failure_type, l.failure_reason, l.segments, l.price,
       l.is_final, l.submitted_at, l.done_at, coalesce(c.region, 'ZZ') AS country
  FROM sms_tracking.summary_delivery_day d
  JOIN sms_tracking.delivery_log l
    ON l.delivery_id = d.delivery_id
   AND l.submitted_at >= d.day::timestamp AT TIME ZONE 'UTC'
   AND l.submitted_at < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
  LEFT JOIN sms_tracking.delivery dv ON dv.delivery_id = l.delivery_id
  LEFT JOIN build_calling_code c ON left(l.phone_e164, 1) = '+' AND c.code = substr(l.phone_e164, 2, 3)
 WHERE d.day IN (SELECT day FROM build_days) AND NOT coalesce(dv.is_proof, false);

DELETE FROM sms_tracking.daily_provider p USING build_days d WHERE p.day = d.day;
INSERT INTO sms_tracking.daily_provider (
    day, provider, deliveries, sent, delivered, failed, pending, cancelled, success, hard, soft, ignored, segments,
    cost, latency_p50_s, latency_p95_s, latency_max_s)
SELECT day, provider, count(DISTINCT delivery_id), count(*),
       count(*) FILTER (WHERE status = 'delivered'), count(*) FILTER (WHERE status = 'failed'),
       count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'cancelled'),
       count(*) FILTER (WHERE status IN ('delivered', 'pending')),
       count(*) FILTER (WHERE failure_type = 'Hard'), count(*) FILTER (WHERE failure_type = 'Soft'),
       count(*) FILTER (WHERE failure_type = 'Ignored'), sum(segments), sum(price),
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM greatest(done_at - submitted_at, interval '0')))
           FILTER (WHERE is_final AND done_at IS NOT NULL)::numeric, 1),
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM greatest(done_at - submitted_at, interval '0')))
           FILTER (WHERE is_final AND done_at IS NOT NULL)::numeric, 1),
       round(max(extract(epoch FROM greatest(done_at - submitted_at, interval '0')))
           FILTER (WHERE is_final AND done_at IS NOT NULL)::numeric, 1)
  FROM build_day_messages
 GROUP BY day, provider;

DELETE FROM sms_tracking.daily_country c USING build_days d WHERE c.day = d.day;
INSERT INTO sms_tracking.daily_country (
    day, country, sent, delivered, failed, pending, cancelled, success, hard, soft, ignored, segments, cost)
SELECT day, country, count(*),
       count(*) FILTER (WHERE status = 'delivered'), count(*) FILTER (WHERE status = 'failed'),
       count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'cancelled'),
       count(*) FILTER (WHERE status IN ('delivered', 'pending')),
       count(*) FILTER (WHERE failure_type = 'Hard'), count(*) FILTER (WHERE failure_type = 'Soft'),
       count(*) FILTER (WHERE failure_type = 'Ignored'), sum(segments), sum(price)
  FROM build_day_messages
 GROUP BY day, country;

DELETE FROM sms_tracking.daily_failure_reason f USING build_days d WHERE f.day = d.day;
INSERT INTO sms_tracking.daily_failure_reason (day, provider, failure_type, failure_reason, failed, segments, cost)
SELECT day, provider, failure_type, failure_reason, count(*), sum(segments), sum(price)
  FROM build_day_messages
 WHERE status = 'failed'
 GROUP BY day, provider, failure_type, failure_reason;
