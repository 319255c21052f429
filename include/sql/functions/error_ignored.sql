-- Adobe's reason 25, Error ignored (decision 9): the failure of a number that was Allowlisted when it failed
-- (its quarantine history then) was sent anyway, and is typed Ignored / Error ignored: it counts neither in
-- Hard/Soft nor toward quarantine. An opt-out signal (a reason whose rule is the denylist) is not an error
-- and keeps its type. Read by the delivery-log build (build/delivery_log.sql) and by the re-qualification
-- (requalify/requeue.sql), so that a number allowlisted with an earlier time is retyped by the next requalify.
-- The rule as a one-row set: a set-returning SQL function is inlined into the query that reads it, where a
-- scalar one with subqueries is run as a function call per row (about 10 us: the delivery-log build of a
-- first 1M load spent 2 s in 108,000 calls).
CREATE OR REPLACE FUNCTION sms_tracking.error_ignored_of(
    outcome text, failure_reason text, phone_e164 text, failed_at timestamptz) RETURNS TABLE (error_ignored boolean)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT $1 = 'failed' AND $3 IS NOT NULL AND $4 IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM sms_tracking.failure_reason r WHERE r.reason = $2 AND r.release_rule = 'denylist')
       AND coalesce((SELECT h.to_status = 'Allowlisted'
                       FROM sms_tracking.quarantine_history h
                      WHERE h.phone_e164 = $3 AND h.at <= $4
                      ORDER BY h.at DESC, h.id DESC
                      LIMIT 1), false)
$$;

-- The same rule as a value, for a caller that reads it once per row anyway.
CREATE OR REPLACE FUNCTION sms_tracking.error_ignored(
    outcome text, failure_reason text, phone_e164 text, failed_at timestamptz) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT e.error_ignored FROM sms_tracking.error_ignored_of($1, $2, $3, $4) e
$$;
