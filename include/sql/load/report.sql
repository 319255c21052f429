-- Merge the staged reports of one object. An earlier version of the same object (same source and
-- uri, other checksum) is replaced: its reports are removed and their messages rebuilt.
WITH superseded AS (
    UPDATE sms_tracking.source_object
       SET status = 'superseded'
     WHERE source = %(source)s AND uri = %(uri)s AND object_id <> %(object_id)s AND status = 'loaded'
 RETURNING object_id
), removed AS (
    DELETE FROM sms_tracking.report r USING superseded s
     WHERE r.object_id = s.object_id
 RETURNING r.provider, r.provider_message_id
)
INSERT INTO sms_tracking.pending_message (provider, provider_message_id)
SELECT DISTINCT provider, provider_message_id FROM removed ORDER BY 1, 2
ON CONFLICT DO NOTHING;

INSERT INTO sms_tracking.pending_message (provider, provider_message_id)
SELECT DISTINCT provider, provider_message_id FROM stage_report ORDER BY 1, 2
ON CONFLICT DO NOTHING;

-- Same natural key as a report already stored (the same file under two names, a re-read API page):
-- kept once (within the object, the first by position). Rows go in natural-key order so that two loads
-- of overlapping reports lock index entries in the same order and cannot deadlock. The row count of
-- this last statement is the number of new reports.
INSERT INTO sms_tracking.report (
    provider, provider_message_id, raw_status, raw_error, error_code, event_at, received_at, submitted_at,
    phone_raw, sender, segments, price, price_unit, raw_text, object_id, position)
SELECT provider, provider_message_id, raw_status, raw_error, error_code, event_at, received_at, submitted_at,
       phone_raw, sender, segments, price, price_unit, raw_text, object_id, position
  FROM stage_report
 ORDER BY provider, provider_message_id, raw_status, coalesce(error_code, ''), coalesce(event_at, '-infinity'),
          position
ON CONFLICT DO NOTHING;
