-- Clicks of a delivery over time (all and human only), in hourly or daily buckets.
SELECT date_trunc(%(unit)s, clicked_at) AS bucket,
       count(*) AS clicks,
       count(*) FILTER (WHERE method <> ALL (%(non_human_methods)s::text[])
                          AND NOT lower(coalesce(user_agent, '')) LIKE ANY (%(bot_likes)s::text[])) AS human_clicks
  FROM sms_tracking.click
 WHERE delivery_id = %(delivery_id)s
 GROUP BY 1
 ORDER BY 1
 LIMIT 500;
