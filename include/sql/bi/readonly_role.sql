-- The read-only role of BI tools: SELECT on the views of schema sms_tracking_bi, nothing else (docs/bi.md).
--
-- Run it on the tracking database after the migrations (the first build creates the views), as a role
-- that may create roles and owns the tracking schemas (or a superuser). Re-running it is harmless.
--
--   psql "$TRACKING_DSN" -c "SET sms_tracking.bi_password = '$SMS_TRACKING_BI_PASSWORD'" \
--        -f include/sql/bi/readonly_role.sql
--
-- The password variable is the setting sms_tracking.bi_password of the session that runs this file:
-- - set and not empty: sms_tracking_bi_reader can log in with that password;
-- - absent: a new role is created NOLOGIN (grant it to the BI tool's own login role:
--   GRANT sms_tracking_bi_reader TO looker;), an existing role keeps its login and password.
-- The role's sessions are read-only by default and look in sms_tracking_bi first. It gets no privilege on
-- schema sms_tracking: the views read the tables with their owner's rights.

DO $$
DECLARE
    password text := nullif(current_setting('sms_tracking.bi_password', true), '');
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sms_tracking_bi_reader') THEN
        CREATE ROLE sms_tracking_bi_reader NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
    IF password IS NOT NULL THEN
        EXECUTE format('ALTER ROLE sms_tracking_bi_reader LOGIN PASSWORD %L', password);
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO sms_tracking_bi_reader', current_database());
    EXECUTE format('ALTER ROLE sms_tracking_bi_reader IN DATABASE %I SET default_transaction_read_only = on',
                   current_database());
    EXECUTE format('ALTER ROLE sms_tracking_bi_reader IN DATABASE %I SET search_path = sms_tracking_bi',
                   current_database());
    -- Views a later migration adds get SELECT too: default privileges of the role that owns the schema.
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA sms_tracking_bi '
                   'GRANT SELECT ON TABLES TO sms_tracking_bi_reader',
                   (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'sms_tracking_bi'));
END
$$;

GRANT USAGE ON SCHEMA sms_tracking_bi TO sms_tracking_bi_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA sms_tracking_bi TO sms_tracking_bi_reader;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA sms_tracking_bi TO sms_tracking_bi_reader;

-- Nothing on the pipeline's own schema, even if someone granted it by hand.
REVOKE ALL ON SCHEMA sms_tracking FROM sms_tracking_bi_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA sms_tracking FROM sms_tracking_bi_reader;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA sms_tracking FROM sms_tracking_bi_reader;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA sms_tracking FROM sms_tracking_bi_reader;
