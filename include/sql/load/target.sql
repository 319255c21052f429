-- Merge the staged target lists: the latest file's row for a recipient wins.
UPDATE sms_tracking.source_object
   SET status = 'superseded'
 WHERE source = %(source)s AND uri = %(uri)s AND object_id <> %(object_id)s AND status = 'loaded';

INSERT INTO sms_tracking.pending_delivery (delivery_id)
SELECT DISTINCT delivery_id FROM stage_target ORDER BY delivery_id
ON CONFLICT DO NOTHING;

-- The build's prepare step decides each new recipient of these lists (exclusions, send list).
INSERT INTO sms_tracking.pending_preparation (delivery_id)
SELECT DISTINCT delivery_id FROM stage_target ORDER BY delivery_id
ON CONFLICT DO NOTHING;

INSERT INTO sms_tracking.target (delivery_id, recipient_id, phone_raw, phone_e164, object_id)
SELECT DISTINCT ON (delivery_id, recipient_id) delivery_id, recipient_id, phone_raw, phone_e164, object_id
  FROM stage_target
 ORDER BY delivery_id, recipient_id
ON CONFLICT (delivery_id, recipient_id) DO UPDATE
   SET phone_raw = excluded.phone_raw, phone_e164 = excluded.phone_e164, object_id = excluded.object_id
 WHERE target.phone_raw IS DISTINCT FROM excluded.phone_raw;
