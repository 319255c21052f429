-- A bad line already rejected for the same source (same text, same reason) from another loaded object is
-- not stored again: the same file under a second name, or an API page read twice, adds no reject, as it
-- adds no report. The lookup goes through this index.
CREATE INDEX reject_source_text ON sms_tracking.reject (source, md5(raw_text));
