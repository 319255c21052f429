CREATE OR REPLACE VIEW sms_tracking_bi.delivery_url_kpi AS
SELECT u.delivery_id, u.url, u.url_position, u.label, u.is_opt_out, u.total_clicks, u.total_clicks_human,
       u.unique_clickers, u.unique_clickers_human, u.click_through_rate, u.click_through_rate_raw
  FROM sms_tracking.delivery_url_summary u
  JOIN sms_tracking.delivery_summary s USING (delivery_id)
 WHERE NOT s.is_proof;
