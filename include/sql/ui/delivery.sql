-- One delivery with its summary row (the dashboard header and KPI tiles).
SELECT d.delivery_id, d.name, d.sender, d.content, d.provider, d.created_at, d.scheduled_at, d.is_proof,
       s.to_deliver, s.processed, s.sent, s.delivered, s.failed, s.pending, s.cancelled, s.success, s.hard, s.soft,
       s.ignored, s.segments, s.cost,
       sms_tracking.success_rate(s.success, s.sent) AS success_rate,  -- as the deliveries list (views/)
       s.first_submit_at, s.last_report_at, s.refreshed_at, s.refreshed_by_run,
       (s.delivery_id IS NOT NULL) AS has_summary,
       to_jsonb(s) - 'delivery_id' AS summary_row  -- every indicator, including those later migrations add
  FROM sms_tracking.delivery d
  LEFT JOIN sms_tracking.delivery_summary s USING (delivery_id)
 WHERE d.delivery_id = %(delivery_id)s;
