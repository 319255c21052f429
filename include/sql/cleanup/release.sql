-- Daily cleanup (Adobe's Database cleanup): at the run's reference time, a With errors number whose last
-- counted error is older than its release period becomes Valid: the period of its reason's release rule
-- (sms_tracking.failure_reason): 30 days after a Mailbox full error, 10 after any other (both configurable). Quarantine and Denylisted are never released here. Each release
-- is an event of the number (cause 'rule'), so a later replay of the number keeps it where it still holds.
SELECT pg_advisory_xact_lock(sms_tracking.build_lock());

WITH recorded AS (
    INSERT INTO sms_tracking.quarantine_event (event_key, phone_e164, at, kind, reason, cause_kind, rule)
    SELECT 'rule:' || r.rule || ':' || q.phone_e164 || ':'
               || to_char(%(reference_time)s::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           q.phone_e164, %(reference_time)s, 'release', q.last_error_reason, 'rule', r.rule
      FROM sms_tracking.quarantine q
     LEFT JOIN sms_tracking.failure_reason fr ON fr.reason = q.last_error_reason
     CROSS JOIN LATERAL (
            SELECT CASE WHEN fr.release_rule = 'mailbox_full_release' THEN 'mailbox_full_release'
                        ELSE 'with_errors_release' END AS rule,
                   make_interval(secs => CASE WHEN fr.release_rule = 'mailbox_full_release'
                                              THEN %(mailbox_full_release)s ELSE %(with_errors_release)s END) AS period
           ) r
     WHERE q.status = 'With errors' AND q.last_error_at + r.period <= %(reference_time)s
    ON CONFLICT (event_key) DO NOTHING
    RETURNING event_key, phone_e164, at
)
INSERT INTO sms_tracking.pending_quarantine_event (event_key, phone_e164, at)
SELECT event_key, phone_e164, at FROM recorded;

SELECT sms_tracking.quarantine_apply(
    %(error_threshold)s, make_interval(secs => %(significant_error_period)s),
    make_interval(secs => %(with_errors_release)s), make_interval(secs => %(mailbox_full_release)s));

-- One journal line per reference time that released something (a re-run adds none).
INSERT INTO sms_tracking.audit_event (delivery_id, level, event, message, details, dag_id, run_id, task_id)
SELECT NULL, 'info', 'quarantine_released',
       sum(n) || ' number(s) released from With errors to Valid by the cleanup at '
           || to_char(%(reference_time)s::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
       jsonb_build_object('reference_time', %(reference_time)s::timestamptz, 'released', jsonb_object_agg(rule, n)),
       %(dag_id)s, %(run_id)s, %(task_id)s
  FROM (SELECT rule, count(*) AS n FROM sms_tracking.quarantine_history
         WHERE cause_kind = 'rule' AND at = %(reference_time)s GROUP BY rule) released
HAVING count(*) > 0
   AND NOT EXISTS (SELECT 1 FROM sms_tracking.audit_event a  -- written after the reference time
                    WHERE a.at >= %(reference_time)s AND a.event = 'quarantine_released'
                      AND (a.details ->> 'reference_time')::timestamptz = %(reference_time)s);
