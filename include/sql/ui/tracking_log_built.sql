-- One page of a delivery's tracking log as the build flagged it (tracking_log: is_bot and its rule).
SELECT clicked_at, recipient_id, tracking_token, url, method, user_agent, NOT is_bot AS human, bot_reason
  FROM sms_tracking.tracking_log
 WHERE delivery_id = %(delivery_id)s
 ORDER BY clicked_at DESC, click_key
 LIMIT %(limit)s OFFSET %(offset)s;
