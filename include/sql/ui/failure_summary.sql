-- Failures of a delivery by type and reason, pre-aggregated by the build (delivery_failure_summary);
-- a failure without a reason shows the configured unknown_failure_reason (%(unknown_reason)s).
SELECT failure_type, coalesce(failure_reason, %(unknown_reason)s::text) AS failure_reason, sum(messages)::bigint AS count
  FROM sms_tracking.delivery_failure_summary
 WHERE delivery_id = %(delivery_id)s
 GROUP BY 1, 2
 ORDER BY count DESC, 1, 2;
