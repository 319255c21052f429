-- Step 4 of the build: turn what happened to each number into quarantine events and apply them
-- (docs/quarantine.md). Final delivery-log outcomes of the deliveries this build touched (the
-- pending_delivery queue, drained by the summary step after this one): delivered = success; a failure
-- whose reason's rule is the denylist (sms_tracking.failure_reason: Denylisted) = provider opt-out; Hard;
-- Soft. Cancelled messages (never sent, decision 11), Ignored failures, failures with a reason that never
-- counts (Not connected, ...) and failures typed by a qualification row in state ignore (decision 10) make
-- no event. Inbound messages whose whole text is a STOP or START keyword. Events are compared with those already recorded, so an
-- outcome is applied once and a changed one (late report, re-qualification) replays its number.
SELECT pg_advisory_xact_lock(sms_tracking.build_lock());

-- Each outcome with what recording it does (change): 'new', 'changed', or null when the event recorded
-- for it is the same, read here once so that the new ones are then inserted without ON CONFLICT's probe
-- of the key and the recorded ones need no RETURNING into a table of their own (half the writing cost).
CREATE TEMP TABLE quarantine_outcome ON COMMIT DROP AS
SELECT o.*,
       CASE WHEN e.event_key IS NULL THEN 'new'
            WHEN (e.phone_e164, e.at, e.kind, e.reason, e.delivery_id, e.report_id)
                 IS DISTINCT FROM (o.phone_e164, o.at, o.kind, o.reason, o.delivery_id, o.report_id)
            THEN 'changed' END AS change
  FROM (
SELECT 'report:' || l.provider || ':' || l.provider_message_id AS event_key,
       l.phone_e164, l.done_at AS at,
       CASE WHEN l.status = 'delivered' THEN 'success'
            WHEN l.status <> 'failed' THEN NULL  -- Delivery cancelled: never sent, says nothing of the number
            WHEN l.failure_type = 'Ignored' OR l.quarantine_ignored OR NOT r.counts_toward_quarantine THEN NULL
            WHEN r.release_rule = 'denylist' THEN 'optout'
            WHEN l.failure_type = 'Hard' THEN 'hard'
            WHEN l.failure_type = 'Soft' THEN 'soft' END AS kind,
       l.failure_reason AS reason, l.delivery_id, l.provider, l.provider_message_id, l.report_id
  FROM sms_tracking.delivery_log l
  LEFT JOIN sms_tracking.failure_reason r ON r.reason = l.failure_reason
 WHERE l.delivery_id IN (SELECT delivery_id FROM sms_tracking.pending_delivery)
   AND l.is_final AND l.phone_e164 IS NOT NULL AND l.done_at IS NOT NULL
) o
  LEFT JOIN sms_tracking.quarantine_event e ON e.event_key = o.event_key
 WHERE o.kind IS NOT NULL;

-- No index: the recorded events below meet these outcomes in hash joins (on a first load, building one over a
-- million text keys took longer than the joins it served).
ANALYZE quarantine_outcome;

-- A recorded event of these deliveries that vanished or changed: its number is replayed from its state
-- before the event's recorded time (or its new time, queued below, if earlier).
CREATE TEMP TABLE quarantine_stale ON COMMIT DROP AS
SELECT e.event_key, e.phone_e164, e.at,
       NOT EXISTS (SELECT 1 FROM quarantine_outcome o WHERE o.event_key = e.event_key) AS vanished
  FROM sms_tracking.quarantine_event e
 WHERE e.cause_kind = 'report'
   AND e.delivery_id IN (SELECT delivery_id FROM sms_tracking.pending_delivery)
   AND NOT EXISTS (
        SELECT 1 FROM quarantine_outcome o
         WHERE o.event_key = e.event_key
           AND (o.phone_e164, o.at, o.kind, o.reason, o.delivery_id, o.report_id)
               IS NOT DISTINCT FROM (e.phone_e164, e.at, e.kind, e.reason, e.delivery_id, e.report_id));

-- Except a number with nothing but successes recorded: it has no history for a replay to redo (a late
-- report that moves a success touches mostly such numbers: 84 % of those of the benchmark's incremental
-- run). An error this batch brings it is a changed event, queued and applied below like a new one.
INSERT INTO sms_tracking.pending_quarantine_replay AS r (phone_e164, since)
SELECT s.phone_e164, min(s.at)
  FROM quarantine_stale s
 WHERE EXISTS (SELECT 1 FROM sms_tracking.quarantine_event e
                WHERE e.phone_e164 = s.phone_e164 AND e.kind <> 'success')
 GROUP BY s.phone_e164
ON CONFLICT (phone_e164) DO UPDATE  -- a null since (replay from the first event) stays null
   SET since = CASE WHEN r.since IS NOT NULL THEN least(r.since, excluded.since) END;

-- The vanished ones only (a changed one is updated below): a late report changes thousands of events and
-- removes none, and probing the event table for each took longer than the rest of this step.
DELETE FROM sms_tracking.quarantine_event e
 USING quarantine_stale s
 WHERE e.event_key = s.event_key AND s.vanished;

-- A first load or a backfill: the event table's secondary indexes are built once after its rows are in
-- (sms_tracking.defer_indexes, include/sql/functions).
CREATE TEMP TABLE quarantine_deferred_index ON COMMIT DROP AS
SELECT sms_tracking.defer_indexes('sms_tracking.quarantine_event',
                                  (SELECT count(*) FROM quarantine_outcome WHERE change = 'new')) AS definitions;

UPDATE sms_tracking.quarantine_event e
   SET phone_e164 = o.phone_e164, at = o.at, kind = o.kind, reason = o.reason, delivery_id = o.delivery_id,
       provider = o.provider, provider_message_id = o.provider_message_id, report_id = o.report_id
  FROM quarantine_outcome o
 WHERE o.change = 'changed' AND e.event_key = o.event_key;

INSERT INTO sms_tracking.quarantine_event (
    event_key, phone_e164, at, kind, reason, cause_kind, delivery_id, provider, provider_message_id, report_id)
SELECT event_key, phone_e164, at, kind, reason, 'report', delivery_id, provider, provider_message_id, report_id
  FROM quarantine_outcome
 WHERE change = 'new';
DO $$ BEGIN PERFORM sms_tracking.restore_indexes(definitions) FROM quarantine_deferred_index; END $$;

-- Inbound messages loaded since the last build: STOP denylists the number, START lifts the denylist.
-- A message with no time (rare) takes the time its file was loaded, else the time it is read.
WITH taken AS (
    DELETE FROM sms_tracking.pending_inbound RETURNING inbound_key
), inbound AS (
    SELECT i.inbound_key, i.provider, i.phone_e164, coalesce(i.received_at, o.started_at, now()) AS at,
           upper(regexp_replace(
               regexp_replace(translate(i.text, %(accented)s, %(unaccented)s), '\s+', ' ', 'g'),
               '^[^A-Za-z0-9]+|[^A-Za-z0-9]+$', '', 'g')) AS keyword
      FROM taken
      JOIN sms_tracking.inbound_message i USING (inbound_key)
      LEFT JOIN sms_tracking.source_object o ON o.object_id = i.object_id
     WHERE i.phone_e164 IS NOT NULL
), recorded AS (
    INSERT INTO sms_tracking.quarantine_event (
        event_key, phone_e164, at, kind, reason, cause_kind, provider, inbound_key)
    SELECT 'inbound:' || inbound_key, phone_e164, at,
           CASE WHEN keyword = ANY(%(stop_keywords)s) THEN 'stop' ELSE 'start' END,
           keyword, 'inbound', provider, inbound_key
      FROM inbound
     WHERE keyword = ANY(%(stop_keywords)s) OR keyword = ANY(%(start_keywords)s)
    ON CONFLICT (event_key) DO NOTHING
    RETURNING event_key, phone_e164, at
)
INSERT INTO sms_tracking.pending_quarantine_event (event_key, phone_e164, at)
SELECT event_key, phone_e164, at FROM recorded;

-- The recorded report events join the queue. A success changes nothing for a number that is Valid (or has
-- no status) when it is all the number has to apply: such events stay recorded (a later replay of the
-- number reads them) but are not queued, so quarantine_apply's per-event loop walks only numbers with
-- something to change (a first load: about 1 event in 10, and 790,000 rows less to queue and unqueue).
WITH busy AS (
    SELECT n.phone_e164
      FROM sms_tracking.pending_quarantine_event n
      JOIN sms_tracking.quarantine_event e USING (event_key)
     WHERE e.kind <> 'success'
    UNION
    SELECT phone_e164 FROM quarantine_outcome WHERE change IS NOT NULL AND kind <> 'success'
    UNION
    SELECT phone_e164 FROM sms_tracking.pending_quarantine_replay
    UNION
    -- Only the numbers recorded here: the whole quarantine table grows with the history. A Valid number
    -- too when the success comes before its last transition (a late one): it moves that transition.
    SELECT q.phone_e164 FROM sms_tracking.quarantine q
      JOIN (SELECT phone_e164, min(at) AS at FROM quarantine_outcome WHERE change IS NOT NULL GROUP BY 1) o
        USING (phone_e164)
     WHERE q.status <> 'Valid' OR q.error_count <> 0 OR q.updated_at >= o.at
)
INSERT INTO sms_tracking.pending_quarantine_event (event_key, phone_e164, at)
SELECT event_key, phone_e164, at
  FROM quarantine_outcome
 WHERE change IS NOT NULL AND (kind <> 'success' OR phone_e164 IN (SELECT phone_e164 FROM busy))
ON CONFLICT (event_key) DO UPDATE SET phone_e164 = excluded.phone_e164, at = excluded.at;

SELECT sms_tracking.quarantine_apply(
    %(error_threshold)s, make_interval(secs => %(significant_error_period)s),
    make_interval(secs => %(with_errors_release)s), make_interval(secs => %(mailbox_full_release)s));
