-- One page of a delivery's journal (newest first, audit_event_delivery index), optionally one level only.
SELECT at, level, event, message, details::text AS details, dag_id, run_id, task_id, count(*) OVER () AS total
  FROM sms_tracking.audit_event
 WHERE delivery_id = %(delivery_id)s AND (%(level)s::text IS NULL OR level = %(level)s)
 ORDER BY at DESC
 LIMIT %(limit)s OFFSET %(offset)s;
