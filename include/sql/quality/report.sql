-- Reports of the objects this run validates, with what their checks need: how the qualification table
-- knows the report's status ('unknown' when it has no row for it at all), and the sent message the
-- report belongs to (null for an orphan report).
SELECT r.report_id, r.provider, r.provider_message_id, r.raw_status, r.error_code, r.event_at, r.received_at,
       coalesce(q.state, 'unknown') AS status_qualification,
       (SELECT m.provider_message_id
          FROM sms_tracking.message m
         WHERE m.provider = r.provider AND m.provider_message_id = r.provider_message_id
         LIMIT 1) AS sent_message_id
  FROM sms_tracking.report r
  LEFT JOIN LATERAL (
        -- 'ignore' < 'keep' < 'to_qualify': the status is known when any of its rows was qualified.
        SELECT min(q.state) AS state
          FROM sms_tracking.qualification q
         WHERE q.provider = r.provider AND q.raw_status = r.raw_status) q ON true
 WHERE r.object_id IN {objects}
