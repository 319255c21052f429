-- The latest validation run of each table and its results (failures first; success null = skipped).
WITH latest AS (
    SELECT DISTINCT ON (table_name) table_name, run_id
      FROM sms_tracking.validation_result
     ORDER BY table_name, validated_at DESC
)
SELECT v.table_name, v.suite, v.expectation, v.expectation_type, v.column_name, v.description, v.success,
       v.critical, v.element_count, v.observed_value::text AS observed_value, v.unexpected_count,
       v.unexpected_sample::text AS unexpected_sample, v.run_id, v.validated_at
  FROM sms_tracking.validation_result v
  JOIN latest l ON l.table_name = v.table_name AND l.run_id = v.run_id
 ORDER BY v.table_name, v.success NULLS FIRST, v.critical DESC, v.suite, v.expectation
 LIMIT 2000;
