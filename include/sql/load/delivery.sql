-- Merge the staged deliveries: the latest file's row wins; the delivery's summary is rebuilt.
UPDATE sms_tracking.source_object
   SET status = 'superseded'
 WHERE source = %(source)s AND uri = %(uri)s AND object_id <> %(object_id)s AND status = 'loaded';

INSERT INTO sms_tracking.pending_delivery (delivery_id)
SELECT DISTINCT delivery_id FROM stage_delivery ORDER BY delivery_id
ON CONFLICT DO NOTHING;

-- The content profile (encoding, length, segments, tracked URLs) was computed from the content at parse
-- time (segments.py, tracking.py), so it changes exactly when the content does.
INSERT INTO sms_tracking.delivery (
    delivery_id, name, sender, content, provider, created_at, scheduled_at, is_proof, encoding, content_length,
    content_units, segments_per_message, segments_if_gsm7, non_gsm7_characters, tracked_urls, object_id)
SELECT DISTINCT ON (delivery_id)
       delivery_id, name, sender, content, provider, created_at, scheduled_at, is_proof, encoding, content_length,
       content_units, segments_per_message, segments_if_gsm7, non_gsm7_characters, tracked_urls, object_id
  FROM stage_delivery
 ORDER BY delivery_id, created_at DESC
ON CONFLICT (delivery_id) DO UPDATE
   SET name = excluded.name, sender = excluded.sender, content = excluded.content,
       provider = excluded.provider, created_at = excluded.created_at, scheduled_at = excluded.scheduled_at,
       is_proof = excluded.is_proof, encoding = excluded.encoding, content_length = excluded.content_length,
       content_units = excluded.content_units, segments_per_message = excluded.segments_per_message,
       segments_if_gsm7 = excluded.segments_if_gsm7, non_gsm7_characters = excluded.non_gsm7_characters,
       tracked_urls = excluded.tracked_urls, object_id = excluded.object_id
 WHERE (delivery.name, delivery.sender, delivery.content, delivery.provider, delivery.created_at,
        delivery.scheduled_at, delivery.is_proof)
       IS DISTINCT FROM
       (excluded.name, excluded.sender, excluded.content, excluded.provider, excluded.created_at,
        excluded.scheduled_at, excluded.is_proof)
    OR delivery.tracked_urls IS DISTINCT FROM excluded.tracked_urls;
