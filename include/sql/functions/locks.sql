-- The advisory lock keys, written here only; SQL, Python and the tests read them through these functions.

-- The build's lock: every build step (include/sql/build), the requalification, the cleanup's release and the
-- quarantine writes take pg_advisory_xact_lock(sms_tracking.build_lock()) first, so two builds serialise.
CREATE OR REPLACE FUNCTION sms_tracking.build_lock() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT 97866::bigint $$;

COMMENT ON FUNCTION sms_tracking.build_lock() IS
    'The advisory lock key every build step takes first (pg_advisory_xact_lock), so two builds serialise';

-- A provider's report merge (include/sql/load/report.sql): the loads of one provider's objects merge their
-- reports one after the other. 97867 in the high 32 bits, the provider's hash in the low ones: no provider's
-- key is the build's.
CREATE OR REPLACE FUNCTION sms_tracking.load_lock(provider text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (97867::bigint << 32) | (hashtext(provider)::bigint & 4294967295) $$;

COMMENT ON FUNCTION sms_tracking.load_lock(text) IS
    'The advisory lock key a load takes (pg_advisory_xact_lock) before merging a provider''s reports';
