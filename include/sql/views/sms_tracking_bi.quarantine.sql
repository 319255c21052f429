-- The numbers are shown as sms_tracking.bi_setting says (phone_for_bi, docs/bi.md).
CREATE OR REPLACE VIEW sms_tracking_bi.quarantine AS
SELECT sms_tracking_bi.phone_for_bi(q.phone_e164, p.exposure, p.salt) AS phone, q.status, q.error_count,
       q.first_error_at, q.last_error_at, q.last_error_reason, q.updated_at
  FROM sms_tracking.quarantine q
 CROSS JOIN sms_tracking.bi_phone_exposure p;
