-- Write the staged rows of include/config/qualification_overrides.yaml into the qualification table as
-- user rows (origin 'user': the seed never overwrites them). The row count is the rows that changed.
INSERT INTO sms_tracking.qualification AS q (
    provider, raw_status, error_code, outcome, is_final, failure_type, failure_reason, description, state,
    origin, updated_at)
SELECT provider, raw_status, error_code, outcome, is_final, failure_type, failure_reason, description, 'keep',
       'user', now()
  FROM stage_override
ON CONFLICT (provider, raw_status, error_code) DO UPDATE
   SET outcome = excluded.outcome, is_final = excluded.is_final, failure_type = excluded.failure_type,
       failure_reason = excluded.failure_reason, description = excluded.description, state = 'keep',
       origin = 'user', updated_at = now()
 WHERE (q.outcome, q.is_final, q.failure_type, q.failure_reason, q.description, q.state, q.origin)
       IS DISTINCT FROM
       (excluded.outcome, excluded.is_final, excluded.failure_type, excluded.failure_reason, excluded.description,
        'keep', 'user');
