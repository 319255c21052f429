-- Merge the staged inbound messages; one already stored (same provider id or same content) is kept once.
-- The build's quarantine step reads them for STOP and START keywords (an already stored one changes nothing).
INSERT INTO sms_tracking.pending_inbound (inbound_key)
SELECT DISTINCT inbound_key FROM stage_inbound_message ORDER BY inbound_key
ON CONFLICT DO NOTHING;

INSERT INTO sms_tracking.inbound_message (
    inbound_key, provider, provider_message_id, phone_raw, phone_e164, recipient, text, received_at, object_id,
    position, price, price_unit, error_code)
SELECT inbound_key, provider, provider_message_id, phone_raw, phone_e164, recipient, text, received_at, object_id,
       position, price, price_unit, error_code
  FROM stage_inbound_message
 ORDER BY inbound_key, position
ON CONFLICT DO NOTHING;
