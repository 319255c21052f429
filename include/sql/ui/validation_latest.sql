-- For each table, its latest validation run that had rows in scope (an incremental run with no new rows
-- validates nothing: element_count 0 or null everywhere), else its latest run; with that table's newest
-- run time, so the page can say later runs were empty. Failures first; success null = skipped.
WITH runs AS (
    SELECT table_name, run_id, max(validated_at) AS at, coalesce(max(element_count), 0) > 0 AS had_rows
      FROM sms_tracking.validation_result
     GROUP BY table_name, run_id
), shown AS (
    SELECT DISTINCT ON (table_name) table_name, run_id
      FROM runs
     ORDER BY table_name, had_rows DESC, at DESC
), newest AS (
    SELECT table_name, max(at) AS newest_at FROM runs GROUP BY table_name
)
SELECT v.table_name, v.suite, v.expectation, v.expectation_type, v.column_name, v.description, v.success,
       v.critical, v.element_count, v.observed_value, v.unexpected_count, v.unexpected_sample, v.run_id,
       v.validated_at, n.newest_at
  FROM sms_tracking.validation_result v
  JOIN shown s ON s.table_name = v.table_name AND s.run_id = v.run_id
  JOIN newest n ON n.table_name = v.table_name
 ORDER BY v.table_name, v.success NULLS FIRST, v.critical DESC, v.suite, v.expectation
 LIMIT 2000;
