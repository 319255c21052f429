-- The pipeline audit of a delivery: every landing object that fed it, with the run that loaded it.
WITH ids AS (
    SELECT object_id FROM sms_tracking.delivery WHERE delivery_id = %(delivery_id)s
    UNION SELECT DISTINCT object_id FROM sms_tracking.target WHERE delivery_id = %(delivery_id)s
    UNION SELECT DISTINCT object_id FROM sms_tracking.message WHERE delivery_id = %(delivery_id)s
    UNION SELECT DISTINCT object_id FROM sms_tracking.click WHERE delivery_id = %(delivery_id)s
    UNION SELECT DISTINCT r.object_id
            FROM sms_tracking.delivery_log l
            JOIN sms_tracking.report r ON r.report_id = l.report_id
           WHERE l.delivery_id = %(delivery_id)s
)
SELECT o.object_id, o.source, o.kind, o.uri, o.status, o.rows_read, o.rows_loaded, o.rows_duplicate,
       o.rows_rejected, o.started_at, o.finished_at, o.dag_id, o.run_id, o.task_id
  FROM sms_tracking.source_object o
  JOIN ids USING (object_id)
 ORDER BY o.started_at DESC, o.object_id DESC
 LIMIT 500;
