-- The Summary tab's breakdowns of one delivery's log in a single scan (delivery_log_delivery index):
--   part 'failure'  failures by type and reason (none: the unknown_failure_reason option, %(unknown_reason)s);
--   part 'latency'  delivered messages by submit-to-report latency bucket (0: < 10 s ... 7: >= 6 h);
--   part 'time'     final reports per hour or day (%(unit)s) and outcome (pending: last intermediate report).
SELECT CASE WHEN GROUPING(failure_type, failure_reason) = 0 THEN 'failure'
            WHEN GROUPING(latency) = 0 THEN 'latency'
            ELSE 'time' END AS part,
       failure_type, failure_reason, latency, bucket, status, count(*) AS count
  FROM (SELECT status,
               failure_type,
               CASE WHEN status = 'failed' THEN coalesce(failure_reason, %(unknown_reason)s::text) END AS failure_reason,
               CASE WHEN status = 'delivered' AND done_at IS NOT NULL THEN
                    width_bucket(date_part('epoch', done_at - submitted_at),
                                 ARRAY[10, 30, 60, 300, 900, 3600, 21600]::float8[]) END AS latency,
               date_trunc(%(unit)s, coalesce(done_at, last_report_at)) AS bucket
          FROM sms_tracking.delivery_log
         WHERE delivery_id = %(delivery_id)s) l
 GROUP BY GROUPING SETS ((failure_type, failure_reason), (latency), (bucket, status))
HAVING (GROUPING(failure_type, failure_reason) = 0 AND bool_and(status = 'failed'))
    OR (GROUPING(latency) = 0 AND bool_and(latency IS NOT NULL))
    OR (GROUPING(bucket, status) = 0 AND bool_and(bucket IS NOT NULL))
 ORDER BY part, count DESC, failure_type, failure_reason, latency, bucket;
