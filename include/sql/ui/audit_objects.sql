-- The pipeline audit of a delivery: every landing object that fed it, with the run that loaded it. Each
-- object id is read from an index alone (0027): message_delivery and click_delivery hold it, the report
-- primary key includes it; the reports are looked up all at once, in key order.
WITH ids AS (
    SELECT object_id FROM sms_tracking.delivery WHERE delivery_id = %(delivery_id)s
    UNION SELECT DISTINCT object_id FROM sms_tracking.target WHERE delivery_id = %(delivery_id)s
    UNION SELECT DISTINCT object_id FROM sms_tracking.message WHERE delivery_id = %(delivery_id)s
    UNION SELECT DISTINCT object_id FROM sms_tracking.click WHERE delivery_id = %(delivery_id)s
    UNION SELECT DISTINCT r.object_id
            FROM sms_tracking.report r
           WHERE r.report_id = ANY (ARRAY(SELECT l.report_id FROM sms_tracking.delivery_log l
                                           WHERE l.delivery_id = %(delivery_id)s AND l.report_id IS NOT NULL))
)
SELECT o.object_id, o.source, o.kind, o.uri, o.status, o.rows_read, o.rows_loaded, o.rows_duplicate,
       o.rows_rejected, o.started_at, o.finished_at, o.dag_id, o.run_id, o.task_id
  FROM sms_tracking.source_object o
  JOIN ids USING (object_id)
 ORDER BY o.started_at DESC, o.object_id DESC
 LIMIT 500;
