-- One page of the quarantine list.
SELECT q.phone_e164, q.status, q.error_count, q.last_error_at, q.last_error_reason, q.first_error_at,
       q.updated_at, q.cause
  FROM sms_tracking.quarantine q
 WHERE {filters}
 ORDER BY {order_by}
 LIMIT %(limit)s OFFSET %(offset)s;
