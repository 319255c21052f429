-- One page of a delivery's tracking log (raw clicks, newest first).
SELECT clicked_at, recipient_id, tracking_token, url, method, user_agent,
       method <> ALL (%(non_human_methods)s::text[]) AND NOT lower(coalesce(user_agent, '')) LIKE ANY (%(bot_likes)s::text[]) AS human,
       NULL::text AS bot_reason
  FROM sms_tracking.click
 WHERE delivery_id = %(delivery_id)s
 ORDER BY clicked_at DESC, click_key
 LIMIT %(limit)s OFFSET %(offset)s;
