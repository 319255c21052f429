-- A qualification edit from the view: the row takes the new values (origin 'user': the seed never
-- overwrites it) and the change is journaled with its values before and after and the requalify run it starts.
WITH before AS (
    SELECT * FROM sms_tracking.qualification
     WHERE provider = %(provider)s AND raw_status = %(raw_status)s AND error_code = %(error_code)s
), after AS (
    UPDATE sms_tracking.qualification q
       SET outcome = %(outcome)s, is_final = %(is_final)s, failure_type = %(failure_type)s,
           failure_reason = %(failure_reason)s, state = %(state)s, origin = 'user', updated_at = now()
      FROM before b
     WHERE (q.provider, q.raw_status, q.error_code) = (b.provider, b.raw_status, b.error_code)
 RETURNING q.*
)
INSERT INTO sms_tracking.qualification_change (
    provider, raw_status, error_code, actor, before, after, note, requalify_run_id)
SELECT a.provider, a.raw_status, a.error_code, %(actor)s,
       jsonb_build_object('state', b.state, 'outcome', b.outcome, 'is_final', b.is_final,
                          'failure_type', b.failure_type, 'failure_reason', b.failure_reason, 'origin', b.origin),
       jsonb_build_object('state', a.state, 'outcome', a.outcome, 'is_final', a.is_final,
                          'failure_type', a.failure_type, 'failure_reason', a.failure_reason, 'origin', a.origin),
       %(note)s, %(run_id)s
  FROM before b JOIN after a USING (provider, raw_status, error_code)
RETURNING id, at;
