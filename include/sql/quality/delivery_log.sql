-- Delivery-log rows of the deliveries whose summary this run refreshed, with the submit-to-done time as the
-- provider dated it (the date the delivery log did not believe, when it replaced one: docs/reliability.md).
-- One row per delivery-log row, its key as stored (rows_of_table in the suite): the primary key proves it unique.
-- Only the columns the checks read (a million rows at 1M, written once and scanned by GX).
SELECT l.provider, l.provider_message_id, l.status, l.failure_type, l.failure_reason, l.phone_e164, l.done_at,
       l.last_report_at,
       extract(epoch FROM coalesce(l.reported_done_at, l.done_at) - l.submitted_at)::float8 AS submit_to_done_seconds
  FROM sms_tracking.delivery_log l
 WHERE l.delivery_id IN {run_deliveries}
