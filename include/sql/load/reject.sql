-- Store the object's bad lines, but those the same source already rejected (same text, same reason) from
-- another loaded object: the same file under a second name, an API page read twice. Those count as
-- duplicates of the object, like its reports already stored. A refused batch (deduplicate false) keeps
-- them all. The row count is the number stored.
INSERT INTO sms_tracking.reject (object_id, source, uri, position, raw_text, reason)
SELECT s.object_id, s.source, s.uri, s.position, s.raw_text, s.reason
  FROM stage_reject s
 WHERE NOT %(deduplicate)s OR NOT EXISTS (
        SELECT FROM sms_tracking.reject r
          JOIN sms_tracking.source_object o ON o.object_id = r.object_id AND o.status = 'loaded'
         WHERE r.source = s.source AND md5(r.raw_text) = md5(s.raw_text) AND r.raw_text = s.raw_text
           AND r.reason = s.reason AND r.object_id <> s.object_id)
ON CONFLICT DO NOTHING;
