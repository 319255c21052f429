-- A final report whose own date cannot be true (after the report arrived, or before its message was
-- submitted, beyond SMS_TRACKING_CLOCK_SKEW) is dated by its arrival instead; the date it gave is kept
-- here so that nothing the provider said is lost (docs/reliability.md).
ALTER TABLE sms_tracking.delivery_log ADD COLUMN reported_done_at timestamptz;
COMMENT ON COLUMN sms_tracking.delivery_log.reported_done_at IS
    'The deciding final report''s own date when it was not believed (in the future of its arrival, or before '
    'the submission, beyond SMS_TRACKING_CLOCK_SKEW); done_at is then its arrival time. Null otherwise.';
