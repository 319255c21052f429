CREATE OR REPLACE VIEW sms_tracking_bi.delivery_failure_reason AS
SELECT f.delivery_id, f.failure_type, f.failure_reason, f.messages, f.segments, f.cost,
       round(f.messages::numeric / nullif(s.failed, 0), 6) AS share_of_failed,
       round(f.messages::numeric / nullif(s.processed, 0), 6) AS share_of_processed
  FROM sms_tracking.delivery_failure_summary f
  JOIN sms_tracking.delivery_summary s USING (delivery_id)
 WHERE NOT s.is_proof;
