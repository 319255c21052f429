CREATE OR REPLACE VIEW sms_tracking_bi.daily_provider AS
SELECT p.day, p.provider, p.deliveries, p.sent, p.delivered, p.failed, p.pending, p.success, p.hard, p.soft,
       p.ignored, p.segments, p.cost, p.latency_p50_s, p.latency_p95_s, p.latency_max_s,
       round(p.success::numeric / nullif(p.sent, 0), 6) AS success_rate,
       round(p.delivered::numeric / nullif(p.sent, 0), 6) AS delivery_rate,
       round(p.failed::numeric / nullif(p.sent, 0), 6) AS error_rate,
       p.cancelled
  FROM sms_tracking.daily_provider p;
