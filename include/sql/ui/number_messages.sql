-- A number's latest messages across deliveries (delivery_log_phone_submitted index).
SELECT l.delivery_id, l.provider, l.provider_message_id, l.status, l.failure_type, l.failure_reason,
       l.raw_status, l.error_code, l.submitted_at, l.done_at
  FROM sms_tracking.delivery_log l
 WHERE l.phone_e164 = %(phone)s
 ORDER BY l.submitted_at DESC
 LIMIT 100;
