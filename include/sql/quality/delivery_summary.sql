-- Summary rows this run refreshed, each with what disagrees between it and its delivery log (null when
-- nothing does): every figure recomputed from the log, and the summary's own arithmetic. Text is built
-- with || and no format(): SQLAlchemy doubles the percent signs of GX's query text.
WITH s AS (
    SELECT * FROM sms_tracking.delivery_summary WHERE refreshed_by_run = {run_id}
), l AS (
    SELECT delivery_id,
           count(*) AS sent,
           count(*) FILTER (WHERE status = 'delivered') AS delivered,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           count(*) FILTER (WHERE status = 'pending') AS pending,
           count(*) FILTER (WHERE failure_type = 'Hard') AS hard,
           count(*) FILTER (WHERE failure_type = 'Soft') AS soft,
           count(*) FILTER (WHERE failure_type = 'Ignored') AS ignored,
           sum(segments) AS segments,
           sum(price) AS cost,
           min(submitted_at) AS first_submit_at,
           max(last_report_at) AS last_report_at
      FROM sms_tracking.delivery_log
     WHERE delivery_id IN (SELECT delivery_id FROM s)
     GROUP BY delivery_id
), compared AS (
    SELECT s.delivery_id, f.position, f.figure, f.summary_value, f.log_value
      FROM s
      LEFT JOIN l USING (delivery_id)
     CROSS JOIN LATERAL (VALUES
           (1, 'sent', s.sent::text, coalesce(l.sent, 0)::text),
           (2, 'delivered', s.delivered::text, coalesce(l.delivered, 0)::text),
           (3, 'failed', s.failed::text, coalesce(l.failed, 0)::text),
           (4, 'pending', s.pending::text, coalesce(l.pending, 0)::text),
           (5, 'hard', s.hard::text, coalesce(l.hard, 0)::text),
           (6, 'soft', s.soft::text, coalesce(l.soft, 0)::text),
           (7, 'ignored', s.ignored::text, coalesce(l.ignored, 0)::text),
           (8, 'segments', s.segments::text, coalesce(l.segments, 0)::text),
           (9, 'cost', s.cost::text, l.cost::text),
           (10, 'first_submit_at', s.first_submit_at::text, l.first_submit_at::text),
           (11, 'last_report_at', s.last_report_at::text, l.last_report_at::text)
     ) AS f (position, figure, summary_value, log_value)
     WHERE f.summary_value IS DISTINCT FROM f.log_value
), arithmetic (delivery_id, problem) AS (
    SELECT delivery_id, 'sent ' || sent || ' <> delivered + failed + pending = ' || (delivered + failed + pending)
      FROM s WHERE sent <> delivered + failed + pending
    UNION ALL
    SELECT delivery_id, 'success ' || success || ' <> delivered + pending = ' || (delivered + pending)
      FROM s WHERE success <> delivered + pending
)
SELECT s.delivery_id, s.sent, s.delivered, s.failed, s.pending, s.success, s.refreshed_at,
       nullif(concat_ws('; ',
           (SELECT string_agg(c.figure || ' ' || coalesce(c.summary_value, 'null') || ' but the log has '
                              || coalesce(c.log_value, 'null'), '; ' ORDER BY c.position)
              FROM compared c WHERE c.delivery_id = s.delivery_id),
           (SELECT string_agg(a.problem, '; ') FROM arithmetic a WHERE a.delivery_id = s.delivery_id)
       ), '') AS disagreement
  FROM s
