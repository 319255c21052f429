-- Re-qualification, first step: find the delivery-log rows whose outcome, type or reason is no longer
-- what the qualification table gives for their deciding report (someone edited a row or its state, or
-- allowlisted a number with an earlier time: its failures since are Error ignored), optionally only
-- for one provider, status or error code. Their values and their numbers' quarantine status are kept as
-- "before" (a re-run keeps the first snapshot), and the messages are re-queued: the build steps that
-- follow rebuild their delivery log, replay their numbers and recompute their deliveries' summaries.
SELECT pg_advisory_xact_lock(sms_tracking.build_lock());

CREATE TEMP TABLE requalify_changed ON COMMIT DROP AS
SELECT l.provider, l.provider_message_id, l.delivery_id, l.phone_e164, l.status, l.failure_type, l.failure_reason
  FROM sms_tracking.delivery_log l
  JOIN sms_tracking.report_qualified rq ON rq.report_id = l.report_id
 -- A number Allowlisted when it failed: Error ignored, as the build types it (include/sql/functions).
 CROSS JOIN LATERAL (SELECT sms_tracking.error_ignored(rq.outcome, rq.failure_reason, l.phone_e164, l.done_at)
                            AS error_ignored) a
 WHERE (%(provider)s::text IS NULL OR l.provider = %(provider)s)
   AND (%(raw_status)s::text IS NULL OR l.raw_status = %(raw_status)s)
   AND (%(error_code)s::text IS NULL OR l.error_code = %(error_code)s)
   AND (l.status, l.is_final, l.failure_type, l.failure_reason, l.quarantine_ignored)
       IS DISTINCT FROM (rq.outcome, rq.is_final,
                         CASE WHEN a.error_ignored THEN 'Ignored' ELSE rq.failure_type END,
                         CASE WHEN a.error_ignored THEN 'Error ignored' ELSE rq.failure_reason END,
                         rq.quarantine_ignored);

INSERT INTO sms_tracking.pending_message (provider, provider_message_id, message_changed)
SELECT provider, provider_message_id, false FROM requalify_changed;

INSERT INTO sms_tracking.requalify_message (
    run_id, provider, provider_message_id, delivery_id, phone_e164, status_before, failure_type_before,
    failure_reason_before, quarantine_before)
SELECT %(run_id)s, c.provider, c.provider_message_id, c.delivery_id, c.phone_e164, c.status, c.failure_type,
       c.failure_reason, q.status
  FROM requalify_changed c
  LEFT JOIN sms_tracking.quarantine q ON q.phone_e164 = c.phone_e164
ON CONFLICT DO NOTHING;
