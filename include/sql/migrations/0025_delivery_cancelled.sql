-- Delivery statuses as Adobe's delivery log names them (issue 17 point 4, decision 11). The codes stay
-- (pending, delivered, failed) and a fourth joins them: cancelled, a message the provider never sent
-- (Twilio canceled, Sinch Aborted/Cancelled). It is final, not an error (no failure type or reason, not in
-- failed/Errors), never quarantines, and is counted in the new `cancelled` columns. Each code's label is
-- sms_tracking.delivery_status, the one SQL place (the BI views read it); Python's is
-- qualification.DELIVERY_STATUS_LABELS (tests/integration/test_rules.py checks they agree).

CREATE TABLE sms_tracking.delivery_status (
    status   text    PRIMARY KEY,
    label    text    NOT NULL UNIQUE,
    position integer NOT NULL UNIQUE,
    meaning  text    NOT NULL
);
COMMENT ON TABLE sms_tracking.delivery_status IS
    'Delivery-log status codes and the label Adobe''s delivery log gives them (docs/kpis.md)';
INSERT INTO sms_tracking.delivery_status (status, label, position, meaning) VALUES
    ('pending', 'Sent', 1, 'taken into account by the provider, no final report yet'),
    ('delivered', 'Received on mobile', 2, 'a final report says the handset received it'),
    ('failed', 'Failed', 3, 'a final failure, typed Hard, Soft or Ignored with a reason'),
    ('cancelled', 'Delivery cancelled', 4, 'cancelled before the provider sent it: not an error, never quarantines');

ALTER TABLE sms_tracking.qualification DROP CONSTRAINT qualification_outcome_check,
    ADD CONSTRAINT qualification_outcome_check CHECK (outcome IN ('pending', 'delivered', 'failed', 'cancelled'));
ALTER TABLE sms_tracking.delivery_log DROP CONSTRAINT delivery_log_status_check,
    ADD CONSTRAINT delivery_log_status_check CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled'));

ALTER TABLE sms_tracking.delivery_summary ADD COLUMN cancelled integer NOT NULL DEFAULT 0;
ALTER TABLE sms_tracking.daily_provider ADD COLUMN cancelled integer NOT NULL DEFAULT 0;
ALTER TABLE sms_tracking.daily_country ADD COLUMN cancelled integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN sms_tracking.delivery_summary.cancelled IS
    'Delivery cancelled: messages cancelled before the provider sent them (Twilio canceled, Sinch Aborted/Cancelled); not errors';
COMMENT ON COLUMN sms_tracking.delivery_summary.sent IS
    'Adobe @sent: messages of the send log (handed to the provider) = delivered + failed + pending + cancelled';
COMMENT ON COLUMN sms_tracking.delivery_summary.processed IS
    'Adobe @processed: messages handed to the provider and accounted for, = success + failed (= sent - cancelled)';
COMMENT ON COLUMN sms_tracking.delivery_summary.pending IS
    'Sent (Adobe): messages with no final report yet = sent - delivered - failed - cancelled';

-- The cancellations the seed typed Ignored / Error ignored, and the rows the build copied from them.
UPDATE sms_tracking.qualification
   SET outcome = 'cancelled', failure_type = NULL, failure_reason = NULL, updated_at = now()
 WHERE origin IN ('seed', 'auto')
   AND (provider, raw_status) IN (('twilio', 'canceled'), ('sinch', 'Aborted'), ('sinch', 'Cancelled'));

-- Existing data: their messages are re-queued; the next build gives them the status cancelled, replays
-- their numbers' quarantine and recomputes their deliveries' summaries.
INSERT INTO sms_tracking.pending_message (provider, provider_message_id)
SELECT l.provider, l.provider_message_id
  FROM sms_tracking.delivery_log l
 WHERE (l.provider, l.raw_status) IN (('twilio', 'canceled'), ('sinch', 'Aborted'), ('sinch', 'Cancelled'))
ON CONFLICT DO NOTHING;

-- The deliveries list (Processed, To deliver) and the BI views (the new counts, status_label, delivery_status) are
-- defined in include/sql/views (created after the migrations; rewritten.toml says why they left).

-- sent, pending and processed now mention cancellations; the daily tables, which share the summary's
-- comments, take them from include/sql/views/dictionary.yaml (rewritten.toml says why the copy left).
