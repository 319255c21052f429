-- Step 1 of the build: every (provider, status, code) met in newly loaded reports that the
-- qualification table does not know gets its own row in state 'to_qualify' (Adobe's "To qualify"):
-- a new status with the configured default, a new failure code with the qualification it inherits
-- from its wildcard row. Then the occurrences and first text of the rows those reports use are counted.
SELECT pg_advisory_xact_lock(sms_tracking.build_lock());

CREATE TEMP TABLE build_objects ON COMMIT DROP AS
SELECT object_id FROM sms_tracking.source_object
 WHERE kind = 'reports' AND status = 'loaded' AND qualified_at IS NULL;

-- Temporary tables have no statistics until analysed: without them the planner guesses thousands of
-- objects and scans every report (10 s on a 16M-report history for a 10,000-report increment).
ANALYZE build_objects;

-- The new reports read once, per object through the report_object index (an increment's few objects must not
-- cost a scan of every report; the planner's estimate of a report count per object is poor, OFFSET 0 keeps
-- it per object), counted per (provider, status, code): every report of a group is qualified alike, so the
-- group's first report stands for all of them below (a first load's 1.6M reports become a few hundred rows).
CREATE TEMP TABLE build_codes ON COMMIT DROP AS
SELECT r.provider, r.raw_status, r.error_code, count(*) AS n, min(r.report_id) AS report_id
  FROM build_objects b
 CROSS JOIN LATERAL (SELECT * FROM sms_tracking.report r WHERE r.object_id = b.object_id OFFSET 0) r
 GROUP BY 1, 2, 3;

-- The groups the qualification table has no row of their own for: a status it does not know, or a failure
-- code only its wildcard row matches.
CREATE TEMP TABLE build_unknown ON COMMIT DROP AS
SELECT *
  FROM (SELECT rq.report_id, rq.provider, rq.raw_status, coalesce(rq.error_code, '*') AS error_code, rq.outcome,
               rq.is_final, rq.failure_type, rq.failure_reason, rq.qualification_status, rq.qualification_code,
               rq.raw_text,
               EXISTS (SELECT 1 FROM sms_tracking.qualification q
                        WHERE q.provider = rq.provider AND q.raw_status = rq.raw_status) AS status_known
          FROM build_codes c
          JOIN sms_tracking.report_qualified rq USING (report_id)) r
 WHERE NOT status_known
    OR (outcome = 'failed' AND error_code <> '*' AND qualification_code = '*');

INSERT INTO sms_tracking.qualification (
    provider, raw_status, error_code, outcome, is_final, failure_type, failure_reason, description, state,
    origin, first_text, occurrences)
SELECT DISTINCT ON (provider, raw_status, error_code)
       provider, raw_status, error_code,
       CASE WHEN status_known THEN outcome ELSE 'failed' END,
       CASE WHEN status_known THEN is_final ELSE true END,
       CASE WHEN status_known THEN failure_type ELSE %(unknown_type)s END,
       CASE WHEN status_known THEN failure_reason ELSE %(unknown_reason)s END,
       CASE WHEN status_known
            THEN 'new error code, qualified like ' || qualification_status || ' / ' || qualification_code
            ELSE 'new status, qualified with the configured default' END,
       'to_qualify', 'auto', raw_text, 0
  FROM build_unknown
 ORDER BY provider, raw_status, error_code, report_id
ON CONFLICT DO NOTHING;

-- Each new failure report counts once, on the row that qualifies it now (new rows included); the first text
-- is that of the row's first report.
WITH used AS (
    SELECT rq.provider, rq.qualification_status AS raw_status, rq.qualification_code AS error_code,
           sum(c.n)::bigint AS n, (array_agg(rq.raw_text ORDER BY rq.report_id))[1] AS first_text
      FROM build_codes c
      JOIN sms_tracking.report_qualified rq USING (report_id)
     WHERE rq.outcome = 'failed'
     GROUP BY 1, 2, 3
)
UPDATE sms_tracking.qualification q
   SET occurrences = LEAST(q.occurrences + used.n, 100000),
       first_text = coalesce(q.first_text, used.first_text)
  FROM used
 WHERE (q.provider, q.raw_status, q.error_code) = (used.provider, used.raw_status, used.error_code);

UPDATE sms_tracking.source_object SET qualified_at = now()
 WHERE object_id IN (SELECT object_id FROM build_objects);
