-- A qualification row's reason must be one of sms_tracking.failure_reason and its type one the reason allows
-- (migration 0022 holds the foreign keys). This check runs first so that whoever writes the row -- the seed
-- sync, the overrides file, an edit in the UI or in SQL -- is told the allowed values, not a constraint name.
CREATE OR REPLACE FUNCTION sms_tracking.qualification_reason_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    allowed text;
BEGIN
    IF NEW.failure_reason IS NULL THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM sms_tracking.failure_reason WHERE reason = NEW.failure_reason) THEN
        SELECT string_agg(quote_literal(reason), ', ' ORDER BY adobe_id NULLS LAST, reason)
          INTO allowed FROM sms_tracking.failure_reason;
        RAISE EXCEPTION 'qualification row (%, %, %): failure reason % is not one of %',
            NEW.provider, NEW.raw_status, NEW.error_code, quote_literal(NEW.failure_reason), allowed
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM sms_tracking.failure_reason_type
                    WHERE reason = NEW.failure_reason AND failure_type = NEW.failure_type) THEN
        SELECT string_agg(failure_type, ', ' ORDER BY array_position(ARRAY['Hard', 'Soft', 'Ignored'], failure_type))
          INTO allowed FROM sms_tracking.failure_reason_type WHERE reason = NEW.failure_reason;
        RAISE EXCEPTION 'qualification row (%, %, %): failure type % is not one of % (the types failure reason % allows)',
            NEW.provider, NEW.raw_status, NEW.error_code, coalesce(quote_literal(NEW.failure_type), 'none'), allowed,
            quote_literal(NEW.failure_reason)
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER qualification_reason_check
    BEFORE INSERT OR UPDATE OF failure_type, failure_reason ON sms_tracking.qualification
    FOR EACH ROW EXECUTE FUNCTION sms_tracking.qualification_reason_check();
