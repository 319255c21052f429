-- sms_tracking.bi_setting as one row, whatever the table holds: what the BI views that show numbers join
-- (docs/bi.md). They read it with their owner's rights, so the BI role never sees the salt.
CREATE OR REPLACE VIEW sms_tracking.bi_phone_exposure AS
SELECT coalesce(max(value) FILTER (WHERE key = 'phone_exposure'), 'clear') AS exposure,
       max(value) FILTER (WHERE key = 'phone_salt') AS salt
  FROM sms_tracking.bi_setting;
