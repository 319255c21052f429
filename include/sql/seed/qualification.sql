-- Upsert the staged seed into the qualification table. A row the pipeline created for a new code
-- (origin 'auto') is replaced by the seed when the seed now knows the code; a row a user edited is kept.
INSERT INTO sms_tracking.qualification AS q (
    provider, raw_status, error_code, outcome, is_final, failure_type, failure_reason, description, state,
    origin, seed_version, updated_at)
SELECT provider, raw_status, error_code, outcome, is_final, failure_type, failure_reason, description, 'keep',
       'seed', %(seed_version)s, now()
  FROM stage_qualification
ON CONFLICT (provider, raw_status, error_code) DO UPDATE
   SET outcome = excluded.outcome, is_final = excluded.is_final, failure_type = excluded.failure_type,
       failure_reason = excluded.failure_reason, description = excluded.description, state = 'keep',
       origin = 'seed', seed_version = excluded.seed_version, updated_at = now()
 WHERE q.origin <> 'user';
