-- A report kept although part of it could not be read (its id and status were read; an SMPP receipt with a
-- misspelt field label, issue 17 point 7): what could not be read, and per landing object how many such
-- reports it had (the pipeline audit journals them, build/audit.sql).
ALTER TABLE sms_tracking.report ADD COLUMN parse_warning text;
COMMENT ON COLUMN sms_tracking.report.parse_warning IS
    'what the adapter could not read in this report (null: read whole); the report was kept';
ALTER TABLE sms_tracking.source_object ADD COLUMN rows_warned integer;
COMMENT ON COLUMN sms_tracking.source_object.rows_warned IS
    'reports of this object kept with a parse warning (report.parse_warning)';
