-- Build step: the tracking of every delivery touched by new data (docs/tracking.md). It takes the
-- deliveries queued so far into pending_summary, the set the audit and summary steps then work on, so
-- what loads queue from now on waits for the next build. Per delivery it rebuilds the tracked URLs from
-- the content and the tracking log from all its clicks, each joined to its message and URL and flagged:
--   user_agent    the User-Agent contains a token of tracking.BOT_USER_AGENTS (link previews, scanners)
--   head_request  a HEAD request, tracking.PROBE_METHODS (a prefetch reads headers only)
--   too_fast      less than SMS_TRACKING_BOT_CLICK_SECONDS after the message reached the handset (its
--                 delivered report's done time, else its submit time), or before it
SELECT pg_advisory_xact_lock(sms_tracking.build_lock());

-- A STOP read by the quarantine step changes the opt-outs of the delivery it answers, which no load
-- queued: queue the deliveries named by, or answered by, the quarantine transitions written since the
-- last build or removed by a replay since (pending_history_removed). "Answered" is the summary's rule
-- (build_stops in summary.sql): the number's latest message submitted within SMS_TRACKING_OPT_OUT_DAYS
-- before the STOP.
-- The transitions since the watermark are read by their ids, a primary-key look-up each: a range on the id
-- reads the same rows, but the planner cannot know how few they are and scanned the whole history for it
-- (20,000 pages a build on the 10M-message history).
CREATE TEMP TABLE build_history ON COMMIT DROP AS
SELECT h.phone_e164, h.to_status, h.cause_kind, h.delivery_id, h.at
  FROM generate_series(
         coalesce((SELECT last_id FROM sms_tracking.build_watermark WHERE name = 'quarantine_history'), 0) + 1,
         (SELECT max(id) FROM sms_tracking.quarantine_history)) AS n (id)
  JOIN sms_tracking.quarantine_history h USING (id)
 WHERE h.to_status IN ('Quarantine', 'Denylisted');

WITH taken AS (
    DELETE FROM sms_tracking.pending_history_removed RETURNING phone_e164, to_status, cause_kind, delivery_id, at
)
INSERT INTO build_history
SELECT phone_e164, to_status, cause_kind, delivery_id, at FROM taken WHERE to_status IN ('Quarantine', 'Denylisted');

INSERT INTO sms_tracking.pending_summary (delivery_id)
SELECT delivery_id FROM build_history WHERE delivery_id IS NOT NULL
UNION
SELECT answered.delivery_id
  FROM build_history h
 CROSS JOIN LATERAL (
        SELECT l.delivery_id
          FROM sms_tracking.delivery_log l
         WHERE l.phone_e164 = h.phone_e164 AND l.submitted_at <= h.at
           AND l.submitted_at > h.at - make_interval(days => %(opt_out_days)s::integer)
         ORDER BY l.submitted_at DESC, l.delivery_id DESC
         LIMIT 1) answered
 WHERE h.cause_kind = 'inbound' AND h.to_status = 'Denylisted'
ON CONFLICT DO NOTHING;

INSERT INTO sms_tracking.build_watermark AS w (name, last_id)
SELECT 'quarantine_history', max(id) FROM sms_tracking.quarantine_history HAVING max(id) IS NOT NULL
ON CONFLICT (name) DO UPDATE SET last_id = GREATEST(w.last_id, excluded.last_id);

WITH taken AS (DELETE FROM sms_tracking.pending_delivery RETURNING delivery_id)
INSERT INTO sms_tracking.pending_summary (delivery_id)
SELECT DISTINCT delivery_id FROM taken
ON CONFLICT DO NOTHING;

CREATE TEMP TABLE build_deliveries ON COMMIT DROP AS
SELECT delivery_id FROM sms_tracking.pending_summary;
ANALYZE build_deliveries;

DELETE FROM sms_tracking.tracked_url t USING build_deliveries b WHERE t.delivery_id = b.delivery_id;

-- A URL written twice (with and without scheme, with a trailing slash...) is one tracked URL: its first
-- occurrence, numbered among the distinct URLs of the text.
INSERT INTO sms_tracking.tracked_url (delivery_id, position, url, url_key, label, is_opt_out)
SELECT delivery_id, row_number() OVER (PARTITION BY delivery_id ORDER BY position), url, url_key, label, is_opt_out
  FROM (SELECT DISTINCT ON (d.delivery_id, sms_tracking.url_key(u.url))
               d.delivery_id, u.position, u.url, sms_tracking.url_key(u.url) AS url_key, u.label, u.is_opt_out
          FROM sms_tracking.delivery d
          JOIN build_deliveries b USING (delivery_id)
         CROSS JOIN LATERAL jsonb_to_recordset(coalesce(d.tracked_urls, '[]'::jsonb))
               AS u(position integer, url text, label text, is_opt_out boolean)
         ORDER BY d.delivery_id, sms_tracking.url_key(u.url), u.position) first_occurrence;

DELETE FROM sms_tracking.tracking_log t USING build_deliveries b WHERE t.delivery_id = b.delivery_id;

-- Each clicked URL's key, computed once per URL rather than per click (three regular expressions: a 1M load's
-- 64,000 clicks name 6 URLs).
CREATE TEMP TABLE build_click_url ON COMMIT DROP AS
SELECT url, sms_tracking.url_key(url) AS url_key
  FROM (SELECT DISTINCT c.url FROM sms_tracking.click c JOIN build_deliveries b USING (delivery_id)) u;
ANALYZE build_click_url;

INSERT INTO sms_tracking.tracking_log (
    click_key, delivery_id, recipient_id, tracking_token, clicker, provider, provider_message_id, url,
    url_position, label, is_opt_out, clicked_at, user_agent, method, message_at, seconds_after_message,
    is_bot, bot_reason)
SELECT c.click_key, c.delivery_id, c.recipient_id, c.tracking_token,
       coalesce(c.recipient_id, 'token:' || c.tracking_token, 'click:' || c.click_key),
       m.provider, m.provider_message_id, c.url, t.position, t.label, coalesce(t.is_opt_out, false),
       c.clicked_at, c.user_agent, c.method, m.message_at,
       round(extract(epoch FROM c.clicked_at - m.message_at), 3),
       flag.bot_reason IS NOT NULL, flag.bot_reason
  -- In the order of the log's (delivery, recipient) index, so its look-ups below read neighbouring pages
  -- (in click order, 53,000 look-ups of a 1M log read 47,000 pages).
  FROM (SELECT c.* FROM sms_tracking.click c JOIN build_deliveries b USING (delivery_id)
         ORDER BY c.delivery_id, c.recipient_id OFFSET 0) c
  LEFT JOIN LATERAL (
        SELECT l.provider, l.provider_message_id,
               CASE WHEN l.status = 'delivered' THEN coalesce(l.done_at, l.submitted_at) ELSE l.submitted_at END
                   AS message_at
          FROM sms_tracking.delivery_log l
         WHERE l.delivery_id = c.delivery_id AND l.recipient_id = c.recipient_id
         ORDER BY l.status = 'delivered' DESC, l.submitted_at DESC, l.provider_message_id
         LIMIT 1) m ON true
  LEFT JOIN build_click_url k ON k.url = c.url
  LEFT JOIN sms_tracking.tracked_url t ON t.delivery_id = c.delivery_id AND t.url_key = k.url_key
 -- The bot flag, computed once per click and its User-Agent test once per distinct agent (OFFSET 0 keeps both
 -- subqueries from being inlined: the CASE then ran once per use of its result, and lower() once per token).
 CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM unnest(%(bot_user_agents)s::text[]) AS token
                                    WHERE strpos(lower(c.user_agent), token) > 0) AS bot_agent
                     OFFSET 0) ua
 CROSS JOIN LATERAL (
        SELECT CASE
                 WHEN ua.bot_agent THEN 'user_agent'
                 WHEN c.method = ANY (%(probe_methods)s::text[]) THEN 'head_request'
                 WHEN c.clicked_at < m.message_at + make_interval(secs => %(bot_click_seconds)s::double precision) THEN 'too_fast'
               END AS bot_reason
        OFFSET 0) flag;
