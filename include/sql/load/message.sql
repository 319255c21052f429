-- Merge the staged send log: the latest file's row for a message wins; its delivery is rebuilt.
UPDATE sms_tracking.source_object
   SET status = 'superseded'
 WHERE source = %(source)s AND uri = %(uri)s AND object_id <> %(object_id)s AND status = 'loaded';

-- The messages are queued for the build (a key queued twice is taken once: migration 0028).
INSERT INTO sms_tracking.pending_message (provider, provider_message_id)
SELECT provider, provider_message_id FROM stage_message;

-- A message moved to another delivery (a corrected send log): the delivery it leaves is rebuilt too. Queued
-- here, where the move is seen, so the delivery_log step reads only the messages' current deliveries.
INSERT INTO sms_tracking.pending_delivery (delivery_id)
SELECT DISTINCT m.delivery_id
  FROM stage_message s
  JOIN sms_tracking.message m USING (provider, provider_message_id)
 WHERE m.delivery_id <> s.delivery_id
ON CONFLICT DO NOTHING;

-- A first load or a backfill (a batch at least as large as the table): the secondary indexes are built once after
-- the rows are in, and the table is locked until the load commits (sms_tracking.defer_indexes, include/sql/functions).
CREATE TEMP TABLE load_message_deferred_index ON COMMIT DROP AS
SELECT definitions, definitions <> '{}' AS locked
  FROM sms_tracking.defer_indexes('sms_tracking.message', (SELECT count(*) FROM stage_message)) AS definitions;

-- Each message's row: the latest submitted of its staged rows. A view, read by one of the two inserts below (dropped
-- with stage_message at commit).
CREATE TEMP VIEW load_message_row AS
SELECT DISTINCT ON (provider, provider_message_id)
       provider, provider_message_id, delivery_id, recipient_id, phone_raw, phone_e164, submitted_at, segments,
       object_id
  FROM stage_message
 ORDER BY provider, provider_message_id, submitted_at DESC;

-- Locked, no other load writes a key meanwhile: the stored messages are updated (their staged rows found before the
-- sort) and the new ones inserted without ON CONFLICT's look-up of each key before its insertion (as load/target.sql).
-- Else ON CONFLICT. One statement, whose row_count (sms_tracking.db.run_sql_file) is the rows written either way.
WITH updated AS (
    UPDATE sms_tracking.message m
       SET delivery_id = s.delivery_id, recipient_id = s.recipient_id, phone_raw = s.phone_raw,
           phone_e164 = s.phone_e164, submitted_at = s.submitted_at, segments = s.segments, object_id = s.object_id
      FROM (SELECT DISTINCT ON (provider, provider_message_id) *
              FROM stage_message s
             WHERE EXISTS (SELECT FROM sms_tracking.message m
                            WHERE (m.provider, m.provider_message_id) = (s.provider, s.provider_message_id))
             ORDER BY provider, provider_message_id, submitted_at DESC) s
     WHERE (m.provider, m.provider_message_id) = (s.provider, s.provider_message_id)
       AND (m.delivery_id, m.recipient_id, m.phone_raw, m.submitted_at, m.segments)
           IS DISTINCT FROM (s.delivery_id, s.recipient_id, s.phone_raw, s.submitted_at, s.segments)
       AND (SELECT locked FROM load_message_deferred_index)
 RETURNING 1
), inserted AS (
    INSERT INTO sms_tracking.message (
        provider, provider_message_id, delivery_id, recipient_id, phone_raw, phone_e164, submitted_at, segments,
        object_id)
    SELECT * FROM load_message_row s
     WHERE (SELECT locked FROM load_message_deferred_index)
       AND NOT EXISTS (SELECT FROM sms_tracking.message m
                        WHERE (m.provider, m.provider_message_id) = (s.provider, s.provider_message_id))
 RETURNING 1
), merged AS (
    INSERT INTO sms_tracking.message (
        provider, provider_message_id, delivery_id, recipient_id, phone_raw, phone_e164, submitted_at, segments,
        object_id)
    SELECT * FROM load_message_row WHERE NOT (SELECT locked FROM load_message_deferred_index)
    ON CONFLICT (provider, provider_message_id) DO UPDATE
       SET delivery_id = excluded.delivery_id, recipient_id = excluded.recipient_id,
           phone_raw = excluded.phone_raw, phone_e164 = excluded.phone_e164,
           submitted_at = excluded.submitted_at, segments = excluded.segments, object_id = excluded.object_id
     WHERE (message.delivery_id, message.recipient_id, message.phone_raw, message.submitted_at, message.segments)
           IS DISTINCT FROM
           (excluded.delivery_id, excluded.recipient_id, excluded.phone_raw, excluded.submitted_at, excluded.segments)
 RETURNING 1
)
SELECT (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted) + (SELECT count(*) FROM merged) AS row_count;

DO $$ BEGIN PERFORM sms_tracking.restore_indexes(definitions) FROM load_message_deferred_index; END $$;
