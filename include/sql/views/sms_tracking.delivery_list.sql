-- The UI's deliveries list: a delivery with the KPIs of its summary and its state. The list and its
-- (capped) count read the same view; the indexes of migrations 0012, 0013 and 0018 serve its orders
-- (delivery_summary_success_rate is on sms_tracking.success_rate, the expression below).
CREATE OR REPLACE VIEW sms_tracking.delivery_list AS
SELECT d.delivery_id, d.name, d.sender, d.provider, d.created_at, d.scheduled_at, d.is_proof,
       coalesce(s.sent, 0)      AS sent,
       coalesce(s.success, 0)   AS success,
       coalesce(s.delivered, 0) AS delivered,
       coalesce(s.failed, 0)    AS failed,
       coalesce(s.pending, 0)   AS pending,
       sms_tracking.success_rate(s.success, s.sent) AS success_rate,
       s.refreshed_at,
       CASE WHEN s.delivery_id IS NULL OR s.sent = 0 THEN 'not_sent'
            WHEN s.pending > 0 THEN 'in_progress'
            ELSE 'finished' END AS state,
       coalesce(s.to_deliver, 0) AS to_deliver,
       coalesce(s.processed, 0) AS processed,
       coalesce(s.cancelled, 0) AS cancelled
  FROM sms_tracking.delivery d
  LEFT JOIN sms_tracking.delivery_summary s USING (delivery_id);
