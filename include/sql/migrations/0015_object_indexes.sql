-- The rows of a landing object, read by the validation of the run that loaded it (quality.py, suites
-- scoped to "object_id IN {objects}"): without these, each run scanned the whole target list and send
-- log to find its objects' rows (0.8 and 0.9 s per run on a 10M-message history, growing with it), as
-- report_object (0001) already spares the reports.
CREATE INDEX target_object ON sms_tracking.target (object_id);
CREATE INDEX message_object ON sms_tracking.message (object_id);
CREATE INDEX click_object ON sms_tracking.click (object_id);
CREATE INDEX inbound_message_object ON sms_tracking.inbound_message (object_id);
