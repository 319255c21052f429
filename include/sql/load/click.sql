-- Merge the staged clicks; a click already stored (same row in another file) is kept once.
INSERT INTO sms_tracking.pending_delivery (delivery_id)
SELECT DISTINCT delivery_id FROM stage_click ORDER BY delivery_id
ON CONFLICT DO NOTHING;

INSERT INTO sms_tracking.click (
    click_key, delivery_id, recipient_id, tracking_token, url, clicked_at, user_agent, method, object_id, position)
SELECT click_key, delivery_id, recipient_id, tracking_token, url, clicked_at, user_agent, method, object_id, position
  FROM stage_click
 ORDER BY click_key, position
ON CONFLICT DO NOTHING;
