-- A number as the BI views show it (docs/bi.md). Pure: the salt is an argument, so calling it directly
-- gives nothing away; the views (migration 0006) pass the setting and the salt.
CREATE OR REPLACE FUNCTION sms_tracking_bi.phone_for_bi(phone_e164 text, exposure text, salt text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE exposure WHEN 'clear' THEN phone_e164 WHEN 'salted_hash' THEN CASE WHEN coalesce(salt, '') <> '' THEN encode(sha256(convert_to(salt || phone_e164, 'UTF8')), 'hex') END END $$;
COMMENT ON FUNCTION sms_tracking_bi.phone_for_bi(text, text, text) IS
    'A number as the BI views show it: as is when exposure = clear; lower-case hex SHA-256 of salt || number when '
    'salted_hash (null without a salt: the views fail closed); null for any other exposure';
