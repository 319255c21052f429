-- Clicks of a page of deliveries (the deliveries list, the Summary tab): the build's counts in
-- delivery_summary (tracking_log.is_bot, the bot rule of build/tracking.sql) when the delivery has them, so
-- the list and the Summary tiles (the same columns) cannot disagree; else counted from the raw clicks
-- (click_delivery index) with the parts of the rule that need no delivery log: not a probe, no bot token.
SELECT d.delivery_id,
       coalesce(s.total_clicks, raw.clicks, 0)       AS clicks,
       coalesce(s.total_clicks_human, raw.human_clicks, 0) AS human_clicks
  FROM unnest(%(delivery_ids)s::text[]) AS d(delivery_id)
  LEFT JOIN sms_tracking.delivery_summary s USING (delivery_id)
  LEFT JOIN LATERAL (
        SELECT count(*) AS clicks,
               count(*) FILTER (WHERE method <> ALL (%(non_human_methods)s::text[])
                                  AND NOT lower(coalesce(user_agent, '')) LIKE ANY (%(bot_likes)s::text[]))
                   AS human_clicks
          FROM sms_tracking.click c
         WHERE c.delivery_id = d.delivery_id AND s.total_clicks IS NULL) raw ON true;
