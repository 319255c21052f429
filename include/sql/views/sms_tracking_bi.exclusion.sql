-- The numbers are shown as sms_tracking.bi_setting says (phone_for_bi, docs/bi.md).
CREATE OR REPLACE VIEW sms_tracking_bi.exclusion AS
SELECT e.delivery_id, e.recipient_id, sms_tracking_bi.phone_for_bi(e.phone_e164, p.exposure, p.salt) AS phone,
       e.reason, e.prepared_at
  FROM sms_tracking.exclusion e
  LEFT JOIN sms_tracking.delivery d USING (delivery_id)
 CROSS JOIN sms_tracking.bi_phone_exposure p
 WHERE d.is_proof IS NOT TRUE;
