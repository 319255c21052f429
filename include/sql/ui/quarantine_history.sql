-- A number's quarantine history, newest first (quarantine_history_phone index).
SELECT at, from_status, to_status, error_count, cause_kind, event_kind, reason, delivery_id, provider,
       provider_message_id, rule, actor
  FROM sms_tracking.quarantine_history WHERE phone_e164 = %(phone)s
 ORDER BY at DESC, id DESC
 LIMIT 500;
