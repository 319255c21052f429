-- Merge the staged send log: the latest file's row for a message wins; its delivery is rebuilt.
UPDATE sms_tracking.source_object
   SET status = 'superseded'
 WHERE source = %(source)s AND uri = %(uri)s AND object_id <> %(object_id)s AND status = 'loaded';

-- The messages are queued for the build (a key queued twice is taken once: migration 0028), as changed: the
-- build reads their rows again (migration 0032).
INSERT INTO sms_tracking.pending_message (provider, provider_message_id, message_changed)
SELECT provider, provider_message_id, true FROM stage_message;

-- A message moved to another delivery (a corrected send log): the delivery it leaves is rebuilt too. Queued
-- here, where the move is seen, so the delivery_log step reads only the messages' current deliveries.
INSERT INTO sms_tracking.pending_delivery (delivery_id)
SELECT DISTINCT m.delivery_id
  FROM stage_message s
  JOIN sms_tracking.message m USING (provider, provider_message_id)
 WHERE m.delivery_id <> s.delivery_id
ON CONFLICT DO NOTHING;

-- A first load or a backfill: the secondary indexes are built once after the rows are in
-- (sms_tracking.defer_indexes, include/sql/functions).
CREATE TEMP TABLE load_message_deferred_index ON COMMIT DROP AS
SELECT sms_tracking.defer_indexes('sms_tracking.message', (SELECT count(*) FROM stage_message)) AS definitions;

INSERT INTO sms_tracking.message (
    provider, provider_message_id, delivery_id, recipient_id, phone_raw, phone_e164, submitted_at, segments,
    object_id)
SELECT DISTINCT ON (provider, provider_message_id)
       provider, provider_message_id, delivery_id, recipient_id, phone_raw, phone_e164, submitted_at, segments,
       object_id
  FROM stage_message
 ORDER BY provider, provider_message_id, submitted_at DESC
ON CONFLICT (provider, provider_message_id) DO UPDATE
   SET delivery_id = excluded.delivery_id, recipient_id = excluded.recipient_id,
       phone_raw = excluded.phone_raw, phone_e164 = excluded.phone_e164,
       submitted_at = excluded.submitted_at, segments = excluded.segments, object_id = excluded.object_id
 WHERE (message.delivery_id, message.recipient_id, message.phone_raw, message.submitted_at, message.segments)
       IS DISTINCT FROM
       (excluded.delivery_id, excluded.recipient_id, excluded.phone_raw, excluded.submitted_at, excluded.segments);

DO $$ BEGIN PERFORM sms_tracking.restore_indexes(definitions) FROM load_message_deferred_index; END $$;
