-- The time from which a queued number's events may have changed (the earliest time, before and after the
-- change, of its changed or removed events): sms_tracking.quarantine_apply replays such a number from its
-- recorded state just before that time instead of from its first event (an incremental build of 10,000
-- late reports on a 10M-message history replayed 1,601 numbers of 26 events each, one random page per
-- event). Null: from the first event. A new nullable column of a queue: no rewrite.
ALTER TABLE sms_tracking.pending_quarantine_replay ADD COLUMN since timestamptz;
