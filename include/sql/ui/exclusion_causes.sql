-- Exclusion causes of a delivery counted from the exclusion table (primary key (delivery_id, recipient_id)).
SELECT reason, count(*) AS count
  FROM sms_tracking.exclusion
 WHERE delivery_id = %(delivery_id)s
 GROUP BY reason
 ORDER BY count DESC, reason;
