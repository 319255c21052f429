-- Phone numbers in the BI contract (docs/bi.md): the message-level views that carry them, and the setting
-- that exposes them in clear (the default) or only as a salted SHA-256. The views read the setting and the
-- salt with their owner's rights, so the BI role never sees the salt and cannot hash numbers of its choosing.

CREATE TABLE sms_tracking.bi_setting (
    key   text PRIMARY KEY CHECK (key IN ('phone_exposure', 'phone_salt')),
    value text NOT NULL,
    CHECK (key <> 'phone_exposure' OR value IN ('clear', 'salted_hash'))
);
COMMENT ON TABLE sms_tracking.bi_setting IS
    'Settings of the BI views (docs/bi.md): phone_exposure = clear | salted_hash, phone_salt = the secret salt';
COMMENT ON COLUMN sms_tracking.bi_setting.key IS 'phone_exposure or phone_salt';
COMMENT ON COLUMN sms_tracking.bi_setting.value IS
    'phone_exposure: clear (numbers as stored, E.164) or salted_hash; phone_salt: any secret text, 32+ random characters';
INSERT INTO sms_tracking.bi_setting (key, value) VALUES ('phone_exposure', 'clear');

-- The views that show numbers, sms_tracking.bi_phone_exposure and the function sms_tracking_bi.phone_for_bi
-- are defined in include/sql/views and include/sql/functions (created after the migrations; rewritten.toml).
