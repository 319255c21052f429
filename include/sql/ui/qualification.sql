-- The qualification table, codes to qualify first, then the most frequent.
SELECT provider, raw_status, error_code, outcome, is_final, failure_type, failure_reason, description,
       state, origin, first_text, occurrences, updated_at, count(*) OVER () AS total
  FROM sms_tracking.qualification
 WHERE (%(provider)s::text IS NULL OR provider = %(provider)s)
   AND (%(state)s::text IS NULL OR state = %(state)s)
 ORDER BY state = 'to_qualify' DESC, occurrences DESC, provider, raw_status, error_code
 LIMIT %(limit)s OFFSET %(offset)s;
