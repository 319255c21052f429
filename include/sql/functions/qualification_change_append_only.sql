-- sms_tracking.qualification_change (migration 0026) is the history of the edits made in the view: a change is
-- corrected by a new change, never rewritten. Migration 0026 creates this function too, because its trigger
-- needs it while migrating; this file holds its current definition.
CREATE OR REPLACE FUNCTION sms_tracking.qualification_change_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'sms_tracking.qualification_change is append-only: a change is corrected by a new change';
END $$;
