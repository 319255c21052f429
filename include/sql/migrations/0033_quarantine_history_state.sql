-- Each transition records the whole state it leads to (to_status, error_count and these three: the
-- last_error_at, last_error_reason, first_error_at of the count), so that a replayed number restarts from
-- the one stored transition before the time its events changed (sms_tracking.quarantine_apply), whatever
-- older transitions a retention removed. Rows written before this migration lack them when their count
-- is not 0 (a count of 0 has no error fields): a number whose checkpoint would be such a row is replayed
-- from its first event, once. Nullable columns without a default: no rewrite, no backfill.
ALTER TABLE sms_tracking.quarantine_history
    ADD COLUMN last_error_at timestamptz,
    ADD COLUMN last_error_reason text,
    ADD COLUMN first_error_at timestamptz;
