CREATE OR REPLACE VIEW sms_tracking_bi.daily_country AS
SELECT c.day, c.country, c.sent, c.delivered, c.failed, c.pending, c.success, c.hard, c.soft, c.ignored,
       c.segments, c.cost,
       round(c.success::numeric / nullif(c.sent, 0), 6) AS success_rate,
       round(c.delivered::numeric / nullif(c.sent, 0), 6) AS delivery_rate,
       round(c.failed::numeric / nullif(c.sent, 0), 6) AS error_rate,
       c.cancelled
  FROM sms_tracking.daily_country c;
