-- Per tracked URL of a delivery: total and unique clicks, and the same for human clicks only.
WITH c AS (
    SELECT url, coalesce(recipient_id, tracking_token, click_key) AS who,
           method <> ALL (%(non_human_methods)s::text[]) AND NOT lower(coalesce(user_agent, '')) LIKE ANY (%(bot_likes)s::text[]) AS human
      FROM sms_tracking.click
     WHERE delivery_id = %(delivery_id)s
)
SELECT url,
       count(*)                                  AS total,
       count(DISTINCT who)                       AS unique_recipients,
       count(*) FILTER (WHERE human)             AS human_total,
       count(DISTINCT who) FILTER (WHERE human)  AS human_unique
  FROM c
 GROUP BY url
 ORDER BY total DESC, url
 LIMIT 200;
