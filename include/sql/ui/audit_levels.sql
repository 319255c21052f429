-- Journal entries of a delivery per level.
SELECT level, count(*) AS count FROM sms_tracking.audit_event WHERE delivery_id = %(delivery_id)s GROUP BY level;
