-- sms_tracking.qualification_change (migration 0026) is the history of the edits made in the view: a change is
-- corrected by a new change, never rewritten.
CREATE OR REPLACE FUNCTION sms_tracking.qualification_change_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'sms_tracking.qualification_change is append-only: a change is corrected by a new change';
END $$;

CREATE OR REPLACE TRIGGER qualification_change_append_only BEFORE UPDATE OR DELETE ON sms_tracking.qualification_change
    FOR EACH ROW EXECUTE FUNCTION sms_tracking.qualification_change_append_only();
