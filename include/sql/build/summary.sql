-- Step 3 of the build: recompute the summary row of every delivery touched by new data, from its
-- delivery log (docs/kpis.md gives each formula).
SELECT pg_advisory_xact_lock(97866);

CREATE TEMP TABLE build_deliveries (delivery_id text PRIMARY KEY) ON COMMIT DROP;

WITH taken AS (DELETE FROM sms_tracking.pending_delivery RETURNING delivery_id)
INSERT INTO build_deliveries SELECT DISTINCT delivery_id FROM taken;

INSERT INTO sms_tracking.delivery_summary AS s (
    delivery_id, is_proof, sent, delivered, failed, pending, success, hard, soft, ignored, segments, cost,
    first_submit_at, last_report_at, refreshed_at, refreshed_by_run)
SELECT b.delivery_id,
       coalesce(dv.is_proof, false),
       count(l.provider_message_id),
       count(*) FILTER (WHERE l.status = 'delivered'),
       count(*) FILTER (WHERE l.status = 'failed'),
       count(*) FILTER (WHERE l.status = 'pending'),
       count(*) FILTER (WHERE l.status IN ('delivered', 'pending')),
       count(*) FILTER (WHERE l.failure_type = 'Hard'),
       count(*) FILTER (WHERE l.failure_type = 'Soft'),
       count(*) FILTER (WHERE l.failure_type = 'Ignored'),
       coalesce(sum(l.segments), 0),
       sum(l.price),
       min(l.submitted_at),
       max(l.last_report_at),
       now(),
       %(run_id)s
  FROM build_deliveries b
  LEFT JOIN sms_tracking.delivery dv USING (delivery_id)
  LEFT JOIN sms_tracking.delivery_log l USING (delivery_id)
 GROUP BY b.delivery_id, dv.is_proof
ON CONFLICT (delivery_id) DO UPDATE
   SET is_proof = excluded.is_proof, sent = excluded.sent, delivered = excluded.delivered,
       failed = excluded.failed, pending = excluded.pending, success = excluded.success, hard = excluded.hard,
       soft = excluded.soft, ignored = excluded.ignored, segments = excluded.segments, cost = excluded.cost,
       first_submit_at = excluded.first_submit_at, last_report_at = excluded.last_report_at,
       refreshed_at = excluded.refreshed_at, refreshed_by_run = excluded.refreshed_by_run;
