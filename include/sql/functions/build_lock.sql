-- The build's advisory lock: every build step (include/sql/build), the requalification, the cleanup's
-- release and the quarantine writes take pg_advisory_xact_lock(sms_tracking.build_lock()) first, so two
-- builds serialise. The number is written here only; Python and the tests read it through this function.
CREATE OR REPLACE FUNCTION sms_tracking.build_lock() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT 97866::bigint $$;

COMMENT ON FUNCTION sms_tracking.build_lock() IS
    'The advisory lock key every build step takes first (pg_advisory_xact_lock), so two builds serialise';
