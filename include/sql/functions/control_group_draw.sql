-- The control-group draw of a target: the first 32 bits of md5('<delivery>/<recipient>') modulo 10000,
-- compared with the control group's size in basis points (build/prepare.sql). The Python copy that lets
-- users predict the draw, exclusions.in_control_group, is checked against it in tests/integration/test_rules.py.
CREATE OR REPLACE FUNCTION sms_tracking.control_group_draw(delivery_id text, recipient_id text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT mod(('x' || substr(md5(delivery_id || '/' || recipient_id), 1, 8))::bit(32)::bigint, 10000)::integer $$;
