-- One page of a delivery's excluded recipients (exclusion primary key (delivery_id, recipient_id)).
-- prepared_at is the delivery's preparation: when its target list was exported (the landing object's
-- time, else its load), not the build run that recorded the decision (decided_at).
SELECT e.recipient_id, e.phone_e164, e.phone_raw, e.reason,
       coalesce(o.modified_at, o.started_at, e.prepared_at) AS prepared_at, e.prepared_at AS decided_at, e.run_id
  FROM sms_tracking.exclusion e
  LEFT JOIN sms_tracking.target t USING (delivery_id, recipient_id)
  LEFT JOIN sms_tracking.source_object o ON o.object_id = t.object_id
 WHERE e.delivery_id = %(delivery_id)s AND (%(reason)s::text IS NULL OR e.reason = %(reason)s)
 ORDER BY e.recipient_id
 LIMIT %(limit)s OFFSET %(offset)s;
