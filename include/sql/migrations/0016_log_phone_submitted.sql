-- A number's messages in submit order: the summary (build_stops) and the tracking step find the message a
-- STOP answers, the number's latest submitted before it, by one backward step of this index instead of
-- reading every message of the number (0.2-0.6 s per build for 500 STOPs on a 10M-message history). It
-- replaces the phone-only index, whose lookups it serves as well.
CREATE INDEX delivery_log_phone_submitted ON sms_tracking.delivery_log (phone_e164, submitted_at);
DROP INDEX sms_tracking.delivery_log_phone;
