-- Delivery statuses as Adobe's delivery log names them (issue 17 point 4, decision 11). The codes stay
-- (pending, delivered, failed) and a fourth joins them: cancelled, a message the provider never sent
-- (Twilio canceled, Sinch Aborted/Cancelled). It is final, not an error (no failure type or reason, not in
-- failed/Errors), never quarantines, and is counted in the new `cancelled` columns. Each code's label is
-- sms_tracking.delivery_status, the one SQL place (the BI views read it); Python's is
-- qualification.DELIVERY_STATUS_LABELS (tests/integration/test_rules.py checks they agree).

CREATE TABLE sms_tracking.delivery_status (
    status   text    PRIMARY KEY,
    label    text    NOT NULL UNIQUE,
    position integer NOT NULL UNIQUE,
    meaning  text    NOT NULL
);
COMMENT ON TABLE sms_tracking.delivery_status IS
    'Delivery-log status codes and the label Adobe''s delivery log gives them (docs/kpis.md)';
INSERT INTO sms_tracking.delivery_status (status, label, position, meaning) VALUES
    ('pending', 'Sent', 1, 'taken into account by the provider, no final report yet'),
    ('delivered', 'Received on mobile', 2, 'a final report says the handset received it'),
    ('failed', 'Failed', 3, 'a final failure, typed Hard, Soft or Ignored with a reason'),
    ('cancelled', 'Delivery cancelled', 4, 'cancelled before the provider sent it: not an error, never quarantines');

ALTER TABLE sms_tracking.qualification DROP CONSTRAINT qualification_outcome_check,
    ADD CONSTRAINT qualification_outcome_check CHECK (outcome IN ('pending', 'delivered', 'failed', 'cancelled'));
ALTER TABLE sms_tracking.delivery_log DROP CONSTRAINT delivery_log_status_check,
    ADD CONSTRAINT delivery_log_status_check CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled'));

ALTER TABLE sms_tracking.delivery_summary ADD COLUMN cancelled integer NOT NULL DEFAULT 0;
ALTER TABLE sms_tracking.daily_provider ADD COLUMN cancelled integer NOT NULL DEFAULT 0;
ALTER TABLE sms_tracking.daily_country ADD COLUMN cancelled integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN sms_tracking.delivery_summary.cancelled IS
    'Delivery cancelled: messages cancelled before the provider sent them (Twilio canceled, Sinch Aborted/Cancelled); not errors';
COMMENT ON COLUMN sms_tracking.daily_provider.cancelled IS
    'Delivery cancelled: messages cancelled before the provider sent them; not errors';
COMMENT ON COLUMN sms_tracking.daily_country.cancelled IS
    'Delivery cancelled: messages cancelled before the provider sent them; not errors';
COMMENT ON COLUMN sms_tracking.delivery_summary.sent IS
    'Adobe @sent: messages of the send log (handed to the provider) = delivered + failed + pending + cancelled';
COMMENT ON COLUMN sms_tracking.delivery_summary.processed IS
    'Adobe @processed: messages handed to the provider and accounted for, = success + failed (= sent - cancelled)';
COMMENT ON COLUMN sms_tracking.delivery_summary.pending IS
    'Sent (Adobe): messages with no final report yet = sent - delivered - failed - cancelled';

-- The cancellations the seed typed Ignored / Error ignored, and the rows the build copied from them.
UPDATE sms_tracking.qualification
   SET outcome = 'cancelled', failure_type = NULL, failure_reason = NULL, updated_at = now()
 WHERE origin IN ('seed', 'auto')
   AND (provider, raw_status) IN (('twilio', 'canceled'), ('sinch', 'Aborted'), ('sinch', 'Cancelled'));

-- Existing data: their messages are re-queued; the next build gives them the status cancelled, replays
-- their numbers' quarantine and recomputes their deliveries' summaries.
INSERT INTO sms_tracking.pending_message (provider, provider_message_id)
SELECT l.provider, l.provider_message_id
  FROM sms_tracking.delivery_log l
 WHERE (l.provider, l.raw_status) IN (('twilio', 'canceled'), ('sinch', 'Aborted'), ('sinch', 'Cancelled'))
ON CONFLICT DO NOTHING;

-- The deliveries list: Processed and To deliver (Adobe's @processed and @toDeliver) for the list and the API.
CREATE OR REPLACE VIEW sms_tracking.delivery_list AS
SELECT d.delivery_id, d.name, d.sender, d.provider, d.created_at, d.scheduled_at, d.is_proof,
       coalesce(s.sent, 0)      AS sent,
       coalesce(s.success, 0)   AS success,
       coalesce(s.delivered, 0) AS delivered,
       coalesce(s.failed, 0)    AS failed,
       coalesce(s.pending, 0)   AS pending,
       sms_tracking.success_rate(s.success, s.sent) AS success_rate,
       s.refreshed_at,
       CASE WHEN s.delivery_id IS NULL OR s.sent = 0 THEN 'not_sent'
            WHEN s.pending > 0 THEN 'in_progress'
            ELSE 'finished' END AS state,
       coalesce(s.to_deliver, 0) AS to_deliver,
       coalesce(s.processed, 0) AS processed,
       coalesce(s.cancelled, 0) AS cancelled
  FROM sms_tracking.delivery d
  LEFT JOIN sms_tracking.delivery_summary s USING (delivery_id);

-- The BI views: the new counts appended (CREATE OR REPLACE keeps the existing columns and their comments).
CREATE OR REPLACE VIEW sms_tracking_bi.delivery_kpi AS
SELECT s.delivery_id, d.name, d.provider, d.sender, d.created_at, d.scheduled_at, d.encoding,
       d.segments_per_message, s.initial_population, s.excluded, s.to_deliver, s.processed, s.sent, s.success,
       s.delivered, s.pending, s.failed, s.hard, s.soft, s.ignored, s.success_rate, s.delivery_rate,
       s.error_rate, s.new_quarantines, s.opt_outs, s.total_clicks, s.total_clicks_human, s.unique_clickers,
       s.unique_clickers_human, s.opt_out_clicks, s.opt_out_clicks_human, s.click_through_rate,
       s.click_through_rate_raw, s.segments, s.cost, s.cost_unit, s.latency_p50_s, s.latency_p95_s,
       s.latency_max_s, s.first_submit_at, s.last_submit_at, s.last_report_at, s.refreshed_at,
       s.refreshed_by_run, s.cancelled
  FROM sms_tracking.delivery_summary s
  LEFT JOIN sms_tracking.delivery d USING (delivery_id)
 WHERE NOT s.is_proof;

CREATE OR REPLACE VIEW sms_tracking_bi.proof_delivery AS
SELECT s.delivery_id, d.name, d.provider, d.sender, d.created_at, d.scheduled_at, d.encoding,
       d.segments_per_message, s.initial_population, s.excluded, s.to_deliver, s.processed, s.sent, s.success,
       s.delivered, s.pending, s.failed, s.hard, s.soft, s.ignored, s.success_rate, s.delivery_rate,
       s.error_rate, s.new_quarantines, s.opt_outs, s.total_clicks, s.total_clicks_human, s.unique_clickers,
       s.unique_clickers_human, s.opt_out_clicks, s.opt_out_clicks_human, s.click_through_rate,
       s.click_through_rate_raw, s.segments, s.cost, s.cost_unit, s.latency_p50_s, s.latency_p95_s,
       s.latency_max_s, s.first_submit_at, s.last_submit_at, s.last_report_at, s.refreshed_at,
       s.refreshed_by_run, s.cancelled
  FROM sms_tracking.delivery_summary s
  LEFT JOIN sms_tracking.delivery d USING (delivery_id)
 WHERE s.is_proof;

CREATE OR REPLACE VIEW sms_tracking_bi.daily_provider AS
SELECT p.day, p.provider, p.deliveries, p.sent, p.delivered, p.failed, p.pending, p.success, p.hard, p.soft,
       p.ignored, p.segments, p.cost, p.latency_p50_s, p.latency_p95_s, p.latency_max_s,
       round(p.success::numeric / nullif(p.sent, 0), 6) AS success_rate,
       round(p.delivered::numeric / nullif(p.sent, 0), 6) AS delivery_rate,
       round(p.failed::numeric / nullif(p.sent, 0), 6) AS error_rate,
       p.cancelled
  FROM sms_tracking.daily_provider p;

CREATE OR REPLACE VIEW sms_tracking_bi.daily_country AS
SELECT c.day, c.country, c.sent, c.delivered, c.failed, c.pending, c.success, c.hard, c.soft, c.ignored,
       c.segments, c.cost,
       round(c.success::numeric / nullif(c.sent, 0), 6) AS success_rate,
       round(c.delivered::numeric / nullif(c.sent, 0), 6) AS delivery_rate,
       round(c.failed::numeric / nullif(c.sent, 0), 6) AS error_rate,
       c.cancelled
  FROM sms_tracking.daily_country c;

CREATE OR REPLACE VIEW sms_tracking_bi.delivery_log AS
SELECT l.delivery_id, l.recipient_id, sms_tracking_bi.phone_for_bi(l.phone_e164, p.exposure, p.salt) AS phone,
       l.provider, l.provider_message_id, l.status, l.is_final, l.failure_type, l.failure_reason, l.raw_status,
       l.error_code, l.submitted_at, l.done_at, l.last_report_at,
       CASE WHEN l.is_final AND l.done_at IS NOT NULL
            THEN round(greatest(extract(epoch FROM l.done_at - l.submitted_at), 0), 1) END AS latency_s,
       l.report_count, l.segments, l.price, l.price_unit, st.label AS status_label
  FROM sms_tracking.delivery_log l
  JOIN sms_tracking.delivery_status st USING (status)
  LEFT JOIN sms_tracking.delivery d USING (delivery_id)
 CROSS JOIN sms_tracking.bi_phone_exposure p
 WHERE d.is_proof IS NOT TRUE;

-- Adobe's statuses, for BI tools that list them (a filter's choices, a legend's order).
CREATE VIEW sms_tracking_bi.delivery_status AS
SELECT status, label, position, meaning FROM sms_tracking.delivery_status;
COMMENT ON VIEW sms_tracking_bi.delivery_status IS
    'The delivery-log status codes with the label Adobe''s delivery log gives them; codes are stable, labels are what to show';
COMMENT ON COLUMN sms_tracking_bi.delivery_status.status IS 'the code, as delivery_log.status holds it';
COMMENT ON COLUMN sms_tracking_bi.delivery_status.label IS 'the status as Adobe''s delivery log names it';
COMMENT ON COLUMN sms_tracking_bi.delivery_status.position IS 'display order';
COMMENT ON COLUMN sms_tracking_bi.delivery_status.meaning IS 'what the status means';

COMMENT ON COLUMN sms_tracking_bi.delivery_log.status IS
    'status code: pending, delivered, failed or cancelled (stable; status_label is what to show)';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.status_label IS
    'the status as Adobe''s delivery log names it: Sent (pending), Received on mobile, Failed, Delivery cancelled';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.is_final IS
    'a final report (delivered, failed or cancelled) was received';
COMMENT ON COLUMN sms_tracking_bi.delivery_kpi.cancelled IS
    'Delivery cancelled: messages cancelled before the provider sent them (Twilio canceled, Sinch Aborted/Cancelled); not errors';
COMMENT ON COLUMN sms_tracking_bi.proof_delivery.cancelled IS
    'Delivery cancelled: messages cancelled before the provider sent them (Twilio canceled, Sinch Aborted/Cancelled); not errors';
COMMENT ON COLUMN sms_tracking_bi.daily_provider.cancelled IS
    'Delivery cancelled: messages cancelled before the provider sent them; not errors';
COMMENT ON COLUMN sms_tracking_bi.daily_country.cancelled IS
    'Delivery cancelled: messages cancelled before the provider sent them; not errors';

-- sent, pending and processed now mention cancellations: the tables and views that copied their comments
-- from delivery_summary (0004) copy them again.
DO $$
DECLARE
    target text;
    col    text;
BEGIN
    FOREACH target IN ARRAY ARRAY['sms_tracking.daily_provider', 'sms_tracking.daily_country',
                                  'sms_tracking_bi.delivery_kpi', 'sms_tracking_bi.proof_delivery',
                                  'sms_tracking_bi.daily_provider', 'sms_tracking_bi.daily_country'] LOOP
        FOREACH col IN ARRAY ARRAY['sent', 'pending', 'processed'] LOOP
            CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_attribute
                                       WHERE attrelid = target::regclass AND attname = col AND NOT attisdropped);
            EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', target, col,
                           col_description('sms_tracking.delivery_summary'::regclass,
                                           (SELECT attnum FROM pg_attribute
                                             WHERE attrelid = 'sms_tracking.delivery_summary'::regclass AND attname = col)));
        END LOOP;
    END LOOP;
END;
$$;
