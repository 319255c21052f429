-- Reports of the objects this run validates, with what their checks need: how the qualification table
-- knows the report's status ('unknown' when it has no row for it at all), and the sent message the
-- report belongs to (null for an orphan report): one probe of the message key per report, so the cost
-- follows the run's reports, not the size of the send log. The delivery log's key first: it has a row for
-- every message the build wrote, and the build just read those pages; the send log's only for a report the
-- log has no row for (a late batch on a 10M-message history: 9,200 cold page reads less). One row per report
-- row, its natural key as stored (rows_of_table in the suite): report_natural_key proves it unique.
SELECT r.report_id, r.provider, r.provider_message_id, r.raw_status, r.error_code, r.event_at, r.received_at,
       coalesce(q.state, 'unknown') AS status_qualification,
       CASE WHEN EXISTS (SELECT FROM sms_tracking.delivery_log l
                          WHERE l.provider = r.provider AND l.provider_message_id = r.provider_message_id)
              OR EXISTS (SELECT FROM sms_tracking.message m
                          WHERE m.provider = r.provider AND m.provider_message_id = r.provider_message_id)
            THEN r.provider_message_id END AS sent_message_id
  FROM {objects} AS scope (object_id)
 -- Per object through the report_object index (OFFSET 0 keeps it so), not a scan of every report.
 CROSS JOIN LATERAL (SELECT * FROM sms_tracking.report r WHERE r.object_id = scope.object_id OFFSET 0) r
  LEFT JOIN (
        -- 'ignore' < 'keep' < 'to_qualify': the status is known when any of its rows was qualified.
        SELECT provider, raw_status, min(state) AS state
          FROM sms_tracking.qualification
         GROUP BY provider, raw_status) q ON q.provider = r.provider AND q.raw_status = r.raw_status
