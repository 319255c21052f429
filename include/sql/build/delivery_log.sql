-- Step 2 of the build: rebuild the delivery-log row of every message touched by new data, from all of
-- its reports, under final-status precedence: a final report beats an intermediate one; between two
-- finals the later one wins (by the report's time, below); an exact tie keeps delivered.
SELECT pg_advisory_xact_lock(sms_tracking.build_lock());

-- The batch's messages: the queue's keys, taken once each (a key queued several times is taken once), with
-- their log rows: whether the log has one already (logged: a new one is inserted, a logged one updated,
-- below) and the message's columns it holds. Those are read again from the send log only for a message whose
-- own row was loaded since (message_changed, migration 0032) or that has no log row yet: each look-up in a
-- large table is a page read, and most of an incremental build's messages have only new reports. Two
-- statements, so the planner knows how many keys need the second read (a first load: all, in one hash join).
-- A queued key with no message yet (an orphan's report) leaves the queue too: the log has no row for it, and
-- its message's load queues it again.
CREATE TEMP TABLE build_keys ON COMMIT DROP AS
WITH taken AS (DELETE FROM sms_tracking.pending_message RETURNING provider, provider_message_id, message_changed)
SELECT k.provider, k.provider_message_id, k.message_changed OR l.provider IS NULL AS read_message,
       l.provider IS NOT NULL AS logged, l.delivery_id, l.recipient_id, l.phone_e164, l.submitted_at, l.segments
  FROM (SELECT provider, provider_message_id, bool_or(message_changed) AS message_changed
          FROM taken GROUP BY provider, provider_message_id) k
  LEFT JOIN sms_tracking.delivery_log l USING (provider, provider_message_id);
ANALYZE build_keys;

CREATE TEMP TABLE build_messages ON COMMIT DROP AS
SELECT provider, provider_message_id, delivery_id, recipient_id, phone_e164, submitted_at, segments, logged
  FROM build_keys
 WHERE NOT read_message
 UNION ALL
SELECT k.provider, k.provider_message_id, m.delivery_id, m.recipient_id, m.phone_e164, m.submitted_at, m.segments,
       k.logged
  FROM build_keys k
  JOIN sms_tracking.message m USING (provider, provider_message_id)
 WHERE k.read_message;
ANALYZE build_messages;

-- The deliveries to rebuild: the messages' own (the one a moved message left was queued by its load).
INSERT INTO sms_tracking.pending_delivery (delivery_id)
SELECT DISTINCT delivery_id FROM build_messages
ON CONFLICT DO NOTHING;

-- Each report's time: its own date, unless that date cannot be true -- later than the report arrived, or
-- earlier than its message was submitted, by more than SMS_TRACKING_CLOCK_SKEW -- in which case its
-- arrival time (docs/reliability.md). A report without a date of its own is timed by its arrival.
-- Except in a backfill: an object that arrived more than the report window (7 days: Adobe's asynchronous
-- reports come within a week of the send) after its own time (source_object.reported_until, the latest
-- date its reports carry) is old data loaded now, and its arrival says nothing of when its reports
-- happened. There a report without a date of its own takes the object's own time, and one dated before
-- its message's submission the submission time (neither earlier than the submission), so old data keeps
-- its own times instead of latencies as long as the backfill is late.
-- One row per report of the batch's messages, with its message's columns, and one row of nulls for a message
-- without a report yet (the log's row of a pending message): the log is then written from this table alone.
-- Reports of a message not in the send log yet (an orphan) are left out: the log has no row for them.
-- Only the columns the log reads: the sort below then sorts rows of about a third of the width (a report's
-- raw text is most of its size).
-- The reports are found by an inner join first: an outer join straight onto report_qualified cannot be
-- pushed into the view (its lateral look-ups are joined ON true), so the planner hashed every report of the
-- history (583,000 blocks for 10,000 messages on a 3M history); the inner join probes the report table by
-- key per message, and only the batch's own rows are then outer-joined.
CREATE TEMP TABLE build_reports ON COMMIT DROP AS
WITH reported AS (
    SELECT rq.provider, rq.provider_message_id, rq.report_id, rq.raw_status, rq.raw_error, rq.error_code,
           rq.event_at, rq.price, rq.price_unit, rq.outcome, rq.is_final, rq.failure_type, rq.failure_reason,
           rq.quarantine_ignored,
           CASE WHEN rq.event_at > rq.received_at + make_interval(secs => %(clock_skew_seconds)s) THEN rq.received_at
                WHEN rq.event_at >= m.submitted_at - make_interval(secs => %(clock_skew_seconds)s) THEN rq.event_at
                WHEN o.reported_until < rq.received_at - interval '7 days'
                THEN greatest(coalesce(rq.event_at, o.reported_until), m.submitted_at)
                ELSE rq.received_at END AS reported_at
      FROM build_messages m
      JOIN sms_tracking.report_qualified rq
        ON rq.provider = m.provider AND rq.provider_message_id = m.provider_message_id
      LEFT JOIN sms_tracking.source_object o ON o.object_id = rq.object_id
)
SELECT m.provider, m.provider_message_id, m.delivery_id, m.recipient_id, m.phone_e164, m.submitted_at, m.segments,
       r.report_id, r.raw_status, r.raw_error, r.error_code, r.event_at,
       r.price, r.price_unit, r.outcome, r.is_final, r.failure_type, r.failure_reason, r.quarantine_ignored,
       r.reported_at, m.logged
  FROM build_messages m
  LEFT JOIN reported r USING (provider, provider_message_id);

-- A first load or a backfill: the log's secondary indexes are built once after its rows are in
-- (sms_tracking.defer_indexes, include/sql/functions).
CREATE TEMP TABLE build_deferred_index ON COMMIT DROP AS
SELECT sms_tracking.defer_indexes('sms_tracking.delivery_log', (SELECT count(*) FROM build_messages)) AS definitions;

-- Each message's log row: its winner and its counts in one sort of its reports and one window (the winner's
-- order starts with the message's delivery and key, and the frame is the whole message, so the count and the latest
-- time come from the same rows); the price, on a few reports only, is the latest report's that has one.
-- A view, read twice below (dropped with build_reports at commit): logged is constant per message and part of
-- the partition, so each reader's filter on it is applied to build_reports before the sort (a first load sorts
-- its reports once).
CREATE TEMP VIEW build_log_row AS
SELECT w.provider, w.provider_message_id, w.logged, w.delivery_id, w.recipient_id, w.phone_e164,
       coalesce(w.outcome, 'pending') AS status, coalesce(w.is_final, false) AS is_final,
       CASE WHEN a.error_ignored THEN 'Ignored' ELSE w.failure_type END AS failure_type,
       CASE WHEN a.error_ignored THEN 'Error ignored' ELSE w.failure_reason END AS failure_reason,
       w.raw_status, w.raw_error, w.error_code, w.submitted_at,
       CASE WHEN w.is_final THEN w.reported_at END AS done_at,
       w.last_report_at, w.report_count, w.segments, s.price, s.price_unit, w.report_id,
       CASE WHEN w.is_final AND w.event_at IS DISTINCT FROM w.reported_at THEN w.event_at END AS reported_done_at,
       coalesce(w.quarantine_ignored, false) AS quarantine_ignored
  FROM (SELECT *, count(report_id) OVER message AS report_count, max(reported_at) OVER message AS last_report_at,
               row_number() OVER message AS rank
          FROM build_reports
        WINDOW message AS (PARTITION BY delivery_id, provider, provider_message_id, logged
                           ORDER BY is_final DESC, reported_at DESC, outcome = 'delivered' DESC, report_id
                           ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) w
  LEFT JOIN (SELECT DISTINCT ON (delivery_id, provider, provider_message_id)
                    delivery_id, provider, provider_message_id, logged, price, price_unit
               FROM build_reports
              WHERE price IS NOT NULL
              ORDER BY delivery_id, provider, provider_message_id, reported_at DESC, report_id) s
         USING (delivery_id, provider, provider_message_id, logged)
 -- The failure of a number Allowlisted when it failed: Ignored / Error ignored (include/sql/functions: the
 -- rule is inlined here, and looks nothing up for a message that did not fail). OFFSET 0 keeps it a subquery:
 -- pulled up, it was copied into both columns that read it and ran twice.
 CROSS JOIN LATERAL (SELECT e.error_ignored
                       FROM sms_tracking.error_ignored_of(w.outcome, w.failure_reason, w.phone_e164, w.reported_at) e
                     OFFSET 0) a
 WHERE w.rank = 1;

-- Each message's log row as one value of the log's row type: the statement below reads its columns as (log).*, in
-- the log's order, instead of naming them three times more. A view: the planner expands each (log).* back into
-- the columns, so no row value is built (the same plans, the same per-column tests).
CREATE TEMP VIEW build_log_value AS
SELECT logged,
       ROW(provider, provider_message_id, delivery_id, recipient_id, phone_e164, status, is_final, failure_type,
           failure_reason, raw_status, raw_error, error_code, submitted_at, done_at, last_report_at, report_count,
           segments, price, price_unit, report_id, reported_done_at, quarantine_ignored)::sms_tracking.delivery_log
       AS log
  FROM build_log_row;

-- A logged message's row is updated, only when it changes (no new row version, no index entries): a re-run or
-- a re-qualification that changes nothing costs reads only. A new message's row is inserted without ON
-- CONFLICT's speculative insertion (a first load: 1M rows in 1.5 s less): the build lock keeps any other
-- writer of the log out, so a key absent above is absent here. The step's count is its new rows.
WITH updated AS (
    UPDATE sms_tracking.delivery_log d
       SET (provider, provider_message_id, delivery_id, recipient_id, phone_e164, status, is_final, failure_type,
            failure_reason, raw_status, raw_error, error_code, submitted_at, done_at, last_report_at, report_count,
            segments, price, price_unit, report_id, reported_done_at, quarantine_ignored) = ROW((n.log).*)
      FROM build_log_value n
     WHERE n.logged AND d.provider = (n.log).provider AND d.provider_message_id = (n.log).provider_message_id
       AND ROW(d.*) IS DISTINCT FROM ROW((n.log).*)
)
INSERT INTO sms_tracking.delivery_log
SELECT (log).*
  FROM build_log_value
 WHERE NOT logged
 ORDER BY (log).delivery_id, (log).provider, (log).provider_message_id;

DO $$ BEGIN PERFORM sms_tracking.restore_indexes(definitions) FROM build_deferred_index; END $$;
