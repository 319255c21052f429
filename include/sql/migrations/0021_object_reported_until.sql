-- A landing object's own time: the latest date its reports carry (null when none carries one). The build
-- judges a report's arrival against it (build/delivery_log.sql): an object that arrived long after its own
-- time is a backfill of old data, whose arrival says nothing about when its reports happened (issue 17
-- point 11). Objects loaded before this migration have none, and keep the rule they were built with.
ALTER TABLE sms_tracking.source_object ADD COLUMN reported_until timestamptz;
COMMENT ON COLUMN sms_tracking.source_object.reported_until IS
    'the latest date of its own among the object''s reports: the object''s own time, against which its arrival is judged';
