l.delivery_id = %(delivery_id)s
   AND (%(status)s::text IS NULL OR l.status = %(status)s)
   AND (%(failure_type)s::text IS NULL OR l.failure_type = %(failure_type)s)
   AND (%(failure_reason)s::text IS NULL OR l.failure_reason = %(failure_reason)s)
   AND (%(phone)s::text IS NULL OR l.phone_e164 = %(phone)s OR l.phone_e164 LIKE %(phone_like)s)
