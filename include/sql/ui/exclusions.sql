-- One page of a delivery's excluded recipients (exclusion primary key (delivery_id, recipient_id)).
SELECT recipient_id, phone_e164, phone_raw, reason, prepared_at, run_id
  FROM sms_tracking.exclusion
 WHERE delivery_id = %(delivery_id)s AND (%(reason)s::text IS NULL OR reason = %(reason)s)
 ORDER BY recipient_id
 LIMIT %(limit)s OFFSET %(offset)s;
