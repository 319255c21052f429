-- Inbound messages keep what the provider charged for them and its error code (issue 17 point 10): Twilio's
-- Message resources and exports and Infobip's inbound webhooks carry a price, and Twilio an error_code, that
-- the load dropped, so inbound spend was missing. Existing rows stay without them (their raw line is not
-- kept); reloading the objects fills them.
ALTER TABLE sms_tracking.inbound_message
    ADD COLUMN price      numeric(12, 5),
    ADD COLUMN price_unit text,
    ADD COLUMN error_code text;
COMMENT ON COLUMN sms_tracking.inbound_message.price IS
    'what the provider charged for receiving the message, as an absolute value (Twilio writes costs negative)';
COMMENT ON COLUMN sms_tracking.inbound_message.error_code IS
    'the provider''s error code on the inbound message (Twilio error_code), normalised as report.error_code';
