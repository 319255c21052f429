-- Clicks of a delivery over time from the build's tracking log (all, and human only).
SELECT date_trunc(%(unit)s, clicked_at) AS bucket, count(*) AS clicks, count(*) FILTER (WHERE NOT is_bot) AS human_clicks
  FROM sms_tracking.tracking_log
 WHERE delivery_id = %(delivery_id)s
 GROUP BY 1
 ORDER BY 1
 LIMIT 500;
