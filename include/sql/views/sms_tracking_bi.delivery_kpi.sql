CREATE OR REPLACE VIEW sms_tracking_bi.delivery_kpi AS
SELECT k.*
  FROM sms_tracking.delivery_indicator k
  JOIN sms_tracking.delivery_summary s USING (delivery_id)
 WHERE NOT s.is_proof;
