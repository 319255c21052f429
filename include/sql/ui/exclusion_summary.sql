-- Exclusion causes of a delivery, pre-aggregated by the build (delivery_exclusion_summary).
SELECT reason, recipients::bigint AS count
  FROM sms_tracking.delivery_exclusion_summary
 WHERE delivery_id = %(delivery_id)s
 ORDER BY count DESC, reason;
