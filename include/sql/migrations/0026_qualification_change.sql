-- Qualification edits made in the view (issue 18 point 1): each change of a row with who, when, its values
-- before and after, and the sms_tracking_requalify run it started. Append-only: the row's history.
CREATE TABLE sms_tracking.qualification_change (
    id               bigserial   PRIMARY KEY,
    provider         text        NOT NULL,
    raw_status       text        NOT NULL,
    error_code       text        NOT NULL,
    actor            text        NOT NULL,
    at               timestamptz NOT NULL DEFAULT now(),
    before           jsonb       NOT NULL,
    after            jsonb       NOT NULL,
    note             text,
    requalify_run_id text        NOT NULL,
    FOREIGN KEY (provider, raw_status, error_code) REFERENCES sms_tracking.qualification
);
CREATE INDEX qualification_change_row ON sms_tracking.qualification_change (provider, raw_status, error_code, at DESC);
CREATE INDEX qualification_change_at ON sms_tracking.qualification_change (at DESC);

CREATE OR REPLACE FUNCTION sms_tracking.qualification_change_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'sms_tracking.qualification_change is append-only: a change is corrected by a new change';
END $$;
CREATE TRIGGER qualification_change_append_only BEFORE UPDATE OR DELETE ON sms_tracking.qualification_change
    FOR EACH ROW EXECUTE FUNCTION sms_tracking.qualification_change_append_only();

-- The view shows each edit's result: the requalify run's journal line.
CREATE INDEX audit_event_requalified ON sms_tracking.audit_event (run_id) WHERE event = 'requalified';
