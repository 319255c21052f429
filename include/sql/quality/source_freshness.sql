-- Each expected source (the sending system's files and every configured report source) with its last
-- loaded object and how many hours past its allowed age that is (negative while it is fresh).
WITH expected (source, max_age_hours) AS ({freshness_sources})
SELECT e.source, max(o.finished_at) AS last_loaded_at, e.max_age_hours,
       round((extract(epoch FROM {now} - max(o.finished_at)) / 3600 - e.max_age_hours)::numeric, 2)::float8
           AS hours_overdue
  FROM expected e
  LEFT JOIN sms_tracking.source_object o ON o.source = e.source AND o.status <> 'rejected'
 GROUP BY e.source, e.max_age_hours
