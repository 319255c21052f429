-- Validation results older than the retention, but the latest of each check (the UI's Data quality page
-- shows it, however old), are deleted: the table grows by ~100 rows per build run, forever otherwise.
DELETE FROM sms_tracking.validation_result v
 WHERE v.validated_at < %(before)s
   AND EXISTS (SELECT FROM sms_tracking.validation_result n
                WHERE n.suite = v.suite AND n.expectation = v.expectation AND n.validated_at > v.validated_at);
