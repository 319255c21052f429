-- Re-qualification, last step (after the build steps): journal, per delivery and for the run, how many
-- messages changed, their outcome before and after ("Soft / Not defined", "delivered", ...) and, for the
-- run, the quarantine status of their numbers before and after. A re-run replaces the run's journal lines.
SELECT pg_advisory_xact_lock(sms_tracking.build_lock());

DELETE FROM sms_tracking.audit_event WHERE event = 'requalified' AND run_id IS NOT DISTINCT FROM %(run_id)s;

CREATE TEMP TABLE requalify_result ON COMMIT DROP AS
SELECT r.delivery_id, r.phone_e164,
       CASE WHEN r.status_before = 'failed' THEN r.failure_type_before || ' / ' || r.failure_reason_before
            ELSE r.status_before END AS before,
       CASE WHEN l.status = 'failed' THEN l.failure_type || ' / ' || l.failure_reason ELSE l.status END AS after,
       coalesce(r.quarantine_before, 'Valid') AS quarantine_before,
       coalesce(q.status, 'Valid') AS quarantine_after
  FROM sms_tracking.requalify_message r
  JOIN sms_tracking.delivery_log l USING (provider, provider_message_id)
  LEFT JOIN sms_tracking.quarantine q ON q.phone_e164 = r.phone_e164
 WHERE r.run_id = %(run_id)s;

WITH scopes AS (
    SELECT delivery_id FROM requalify_result GROUP BY delivery_id
    UNION ALL
    SELECT NULL
), counted AS (
    SELECT s.delivery_id,
           (SELECT count(*) FROM requalify_result r
             WHERE s.delivery_id IS NULL OR r.delivery_id = s.delivery_id) AS messages,
           (SELECT count(DISTINCT r.delivery_id) FROM requalify_result r) AS deliveries,
           (SELECT jsonb_build_object(
                       'counts', coalesce(jsonb_object_agg(label, n), '{}'::jsonb),
                       'text', coalesce(string_agg(label || ' ' || n, ', ' ORDER BY label), 'none'))
              FROM (SELECT r.before AS label, count(*) AS n FROM requalify_result r
                     WHERE s.delivery_id IS NULL OR r.delivery_id = s.delivery_id GROUP BY 1) b) AS before,
           (SELECT jsonb_build_object(
                       'counts', coalesce(jsonb_object_agg(label, n), '{}'::jsonb),
                       'text', coalesce(string_agg(label || ' ' || n, ', ' ORDER BY label), 'none'))
              FROM (SELECT r.after AS label, count(*) AS n FROM requalify_result r
                     WHERE s.delivery_id IS NULL OR r.delivery_id = s.delivery_id GROUP BY 1) a) AS after,
           (SELECT jsonb_build_object(
                       'before', coalesce(jsonb_object_agg(label, n) FILTER (WHERE side = 'before'), '{}'::jsonb),
                       'after', coalesce(jsonb_object_agg(label, n) FILTER (WHERE side = 'after'), '{}'::jsonb))
              FROM (SELECT side, label, count(*) AS n
                      FROM (SELECT DISTINCT phone_e164, quarantine_before, quarantine_after FROM requalify_result
                             WHERE phone_e164 IS NOT NULL
                               AND (s.delivery_id IS NULL OR delivery_id = s.delivery_id)) p
                     CROSS JOIN LATERAL (VALUES ('before', p.quarantine_before), ('after', p.quarantine_after))
                           v(side, label)
                     GROUP BY side, label) c) AS quarantine
      FROM scopes s
)
INSERT INTO sms_tracking.audit_event (delivery_id, level, event, message, details, dag_id, run_id, task_id)
SELECT delivery_id, 'info', 'requalified',
       CASE WHEN messages = 0 THEN 'Re-qualification: no delivery-log row differed from the qualification table'
            ELSE messages || ' message(s) re-qualified'
                 || CASE WHEN delivery_id IS NULL THEN ' in ' || deliveries || ' delivery(ies)' ELSE '' END
                 || '. Before: ' || (before ->> 'text') || '. After: ' || (after ->> 'text') || '.' END,
       jsonb_build_object('messages', messages, 'before', before -> 'counts', 'after', after -> 'counts',
                          'quarantine', quarantine)
           || CASE WHEN delivery_id IS NULL THEN jsonb_build_object('deliveries', deliveries) ELSE '{}'::jsonb END,
       %(dag_id)s, %(run_id)s, %(task_id)s
  FROM counted;
