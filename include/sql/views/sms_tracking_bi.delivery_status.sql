-- Adobe's statuses, for BI tools that list them (a filter's choices, a legend's order).
CREATE OR REPLACE VIEW sms_tracking_bi.delivery_status AS
SELECT status, label, position, meaning FROM sms_tracking.delivery_status;
