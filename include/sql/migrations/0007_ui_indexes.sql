-- Indexes for the UI's delivery-log and quarantine pages (measured on 4M delivery-log rows: log pages
-- of a 2M-message delivery went from 1.5-3 s to under 170 ms).
CREATE INDEX delivery_log_delivery_submitted
    ON sms_tracking.delivery_log (delivery_id, submitted_at, provider, provider_message_id);
CREATE INDEX delivery_log_delivery_done ON sms_tracking.delivery_log (delivery_id, done_at);
CREATE INDEX quarantine_updated ON sms_tracking.quarantine (updated_at);
