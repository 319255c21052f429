-- Per tracked URL click indicators, pre-aggregated by the build (delivery_url_summary).
SELECT url, url_position, label, is_opt_out, total_clicks AS total, unique_clickers AS unique_recipients,
       total_clicks_human AS human_total, unique_clickers_human AS human_unique
  FROM sms_tracking.delivery_url_summary
 WHERE delivery_id = %(delivery_id)s
 ORDER BY url_position NULLS LAST, total_clicks DESC, url
 LIMIT 200;
