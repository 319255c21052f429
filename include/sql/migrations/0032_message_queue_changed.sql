-- Whether a queued message's own row was loaded (a send log), or only its reports (a report file, a
-- re-qualification): the delivery-log step then reads an unchanged message's columns from its log row, which it
-- reads anyway, instead of one more look-up in the message table per message (10,000 late reports on a
-- 10M-message history, cold: 18,900 pages, a quarter of the step's reads). True by default, the safe answer:
-- a key queued by a writer that does not say (one queued before this migration, a worker still running the
-- older SQL) has its message read; the writers that know it unchanged queue false. A column with a constant
-- default rewrites nothing.
ALTER TABLE sms_tracking.pending_message ADD COLUMN message_changed boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN sms_tracking.pending_message.message_changed IS
    'the message''s own row was loaded since its last build (its log row''s message columns may be stale)';
