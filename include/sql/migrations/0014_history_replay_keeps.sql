-- A replay of a number keeps the history rows it reproduces (sms_tracking.quarantine_apply, its
-- history-writing part), and records the rows it removes for the tracking
-- step, which queues the deliveries those rows named or answered (include/sql/build/tracking.sql).
CREATE TABLE sms_tracking.pending_history_removed (
    phone_e164  text NOT NULL,
    to_status   text NOT NULL,
    cause_kind  text NOT NULL,
    delivery_id text,
    at          timestamptz NOT NULL
);
COMMENT ON TABLE sms_tracking.pending_history_removed IS
    'quarantine transitions a replay removed, until the next build queues the deliveries they named or answered';

-- sms_tracking.quarantine_apply is defined in include/sql/functions/quarantine_apply.sql (rewritten.toml).
