-- A number's quarantine row (no row: the number is Valid).
SELECT phone_e164, status, error_count, last_error_at, last_error_reason, first_error_at, updated_at, cause
  FROM sms_tracking.quarantine WHERE phone_e164 = %(phone)s;
