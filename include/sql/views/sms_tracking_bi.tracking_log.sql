CREATE OR REPLACE VIEW sms_tracking_bi.tracking_log AS
SELECT t.click_key, t.delivery_id, t.recipient_id, t.tracking_token, t.clicker, t.provider,
       t.provider_message_id, t.url, t.url_position, t.label, t.is_opt_out, t.clicked_at, t.user_agent, t.method,
       t.message_at, t.seconds_after_message, t.is_bot, t.bot_reason
  FROM sms_tracking.tracking_log t
  JOIN sms_tracking.delivery_summary s USING (delivery_id)
 WHERE NOT s.is_proof;
