-- Clicks of a page of deliveries (click_delivery index); human = not a probe, no bot token in the agent.
SELECT delivery_id,
       count(*) AS clicks,
       count(*) FILTER (WHERE method <> ALL (%(non_human_methods)s::text[])
                          AND NOT lower(coalesce(user_agent, '')) LIKE ANY (%(bot_likes)s::text[])) AS human_clicks
  FROM sms_tracking.click
 WHERE delivery_id = ANY (%(delivery_ids)s::text[])
 GROUP BY delivery_id;
