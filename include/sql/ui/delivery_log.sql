-- One page of a delivery's log: the qualification next to the provider's raw status and error.
SELECT l.provider, l.provider_message_id, l.recipient_id, l.phone_e164, l.status, l.is_final,
       l.failure_type, l.failure_reason, l.raw_status, l.error_code, l.raw_error,
       l.submitted_at, l.done_at, l.last_report_at, l.report_count, l.segments, l.price, l.price_unit
  FROM sms_tracking.delivery_log l
 WHERE {filters}
 ORDER BY {order_by}
 LIMIT %(limit)s OFFSET %(offset)s;
