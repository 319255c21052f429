-- Error ignored means one thing only (issue 17 point 3, decision 9): Adobe's reason 25, the failure of a
-- number on the allowlist, sent anyway (sms_tracking.error_ignored, include/sql/functions). Sender and
-- account configuration refusals, which the seed typed Ignored / Error ignored, are Ignored / Refused
-- (decision 4): they say nothing about the number. The seed says so now; its rows and the rows the build
-- copied from them are changed here, before the seed sync, so that the messages they type are re-queued
-- with them. Cancellations keep Error ignored until they have a status of their own.
UPDATE sms_tracking.qualification
   SET failure_reason = 'Refused', updated_at = now()
 WHERE origin IN ('seed', 'auto') AND failure_type = 'Ignored' AND failure_reason = 'Error ignored'
   AND (provider, raw_status) NOT IN (('twilio', 'canceled'), ('sinch', 'Aborted'), ('sinch', 'Cancelled'));

-- Existing data: the failures typed Error ignored (now Refused, or Error ignored again if their number was
-- allowlisted) and every failure of a number ever Allowlisted are re-queued; the next build retypes them
-- and recomputes their deliveries' summaries.
INSERT INTO sms_tracking.pending_message (provider, provider_message_id)
SELECT l.provider, l.provider_message_id
  FROM sms_tracking.delivery_log l
 WHERE l.status = 'failed'
   AND (l.failure_reason = 'Error ignored'
        OR l.phone_e164 IN (SELECT phone_e164 FROM sms_tracking.quarantine_history WHERE to_status = 'Allowlisted'))
ON CONFLICT DO NOTHING;
