(%(status)s::text IS NULL OR q.status = %(status)s)
   AND (%(phone)s::text IS NULL OR q.phone_e164 = %(phone)s OR q.phone_e164 LIKE %(phone_like)s)
   AND (%(reason)s::text IS NULL OR q.last_error_reason = %(reason)s)
