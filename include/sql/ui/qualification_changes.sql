-- Qualification edits made in the view, latest first: one row's history (when a row is given) or every
-- row's, each with the result its requalify run journaled (the run-level 'requalified' line, if any).
SELECT c.id, c.provider, c.raw_status, c.error_code, c.actor, c.at, c.before, c.after, c.note,
       c.requalify_run_id, r.message AS result, (r.details ->> 'messages')::bigint AS messages,
       (r.details ->> 'deliveries')::bigint AS deliveries
  FROM sms_tracking.qualification_change c
  LEFT JOIN LATERAL (
        SELECT e.message, e.details FROM sms_tracking.audit_event e
         WHERE e.event = 'requalified' AND e.delivery_id IS NULL AND e.run_id = c.requalify_run_id
         ORDER BY e.at DESC LIMIT 1) r ON true
 WHERE %(provider)s::text IS NULL
    OR (c.provider, c.raw_status, c.error_code) = (%(provider)s, %(raw_status)s, %(error_code)s)
 ORDER BY c.at DESC, c.id DESC
 LIMIT %(limit)s;
