-- Build step: the delivery journal's build-time events (docs/audit.md), for the deliveries this build
-- rebuilds (pending_summary) and the landing objects not journaled yet. The journal only grows: an event
-- is written when its fact is new (same event and key not journaled before), or for send_window and
-- validation when the fact differs from the delivery's latest event of that kind.
SELECT pg_advisory_xact_lock(sms_tracking.build_lock());

CREATE TEMP TABLE audit_new (
    delivery_id text,
    level       text,
    event       text,
    message     text,
    details     jsonb,
    latest_only boolean NOT NULL DEFAULT false
) ON COMMIT DROP;

-- Each delivery with its messages counted and their send window, from one read of its log rows.
CREATE TEMP TABLE audit_delivery ON COMMIT DROP AS
SELECT d.delivery_id, d.content, d.encoding, d.content_length, d.content_units, d.segments_per_message,
       d.segments_if_gsm7, d.non_gsm7_characters, d.scheduled_at, w.sent, w.first_at, w.last_at
  FROM sms_tracking.delivery d
  JOIN sms_tracking.pending_summary p USING (delivery_id)
 CROSS JOIN LATERAL (
        SELECT count(*) AS sent, min(l.submitted_at) AS first_at, max(l.submitted_at) AS last_at
          FROM sms_tracking.delivery_log l WHERE l.delivery_id = d.delivery_id) w;
ANALYZE audit_delivery;

-- The content: more than one segment, and characters outside GSM-7 with what UCS-2 costs.
INSERT INTO audit_new (delivery_id, level, event, message, details)
SELECT delivery_id, 'warning', 'content_segments',
       format('Content over one segment: %s characters (%s %s in %s) take %s segments per message; one SMS holds %s',
              content_length, content_units, CASE encoding WHEN 'GSM-7' THEN 'septets' ELSE 'UTF-16 units' END,
              encoding, segments_per_message, CASE encoding WHEN 'GSM-7' THEN 160 ELSE 70 END),
       jsonb_build_object('key', md5(content), 'encoding', encoding, 'characters', content_length,
                          'units', content_units, 'segments_per_message', segments_per_message)
  FROM audit_delivery
 WHERE segments_per_message > 1;

INSERT INTO audit_new (delivery_id, level, event, message, details)
SELECT delivery_id,
       CASE WHEN segments_per_message > segments_if_gsm7 THEN 'warning' ELSE 'info' END,
       'content_ucs2',
       format('Characters outside the GSM-7 alphabet (%s) force UCS-2: %s',
              non_gsm7_characters,
              CASE WHEN segments_per_message > segments_if_gsm7
                   THEN format('%s segments per message instead of %s, %s more per message (%s more for the %s messages sent so far)',
                               segments_per_message, segments_if_gsm7, segments_per_message - segments_if_gsm7,
                               (segments_per_message - segments_if_gsm7) * sent, sent)
                   ELSE format('still %s segment(s) per message, no extra cost', segments_per_message) END),
       jsonb_build_object('key', md5(content), 'characters', non_gsm7_characters,
                          'segments_per_message', segments_per_message, 'segments_if_gsm7', segments_if_gsm7,
                          'extra_segments_per_message', segments_per_message - segments_if_gsm7,
                          'messages_sent', sent)
  FROM audit_delivery
 WHERE encoding = 'UCS-2';

-- The send window, journaled again whenever the send log widens it.
INSERT INTO audit_new (delivery_id, level, event, message, details, latest_only)
SELECT delivery_id,
       CASE WHEN first_at < scheduled_at THEN 'warning' ELSE 'info' END,
       'send_window',
       format('Send window: %s message(s) submitted from %s to %s%s', sent,
              to_char(first_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
              to_char(last_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
              CASE WHEN first_at < scheduled_at
                   THEN format(', before the scheduled start %s',
                               to_char(scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'))
                   ELSE '' END),
       jsonb_build_object('key', md5(concat_ws('/', first_at, last_at, sent)), 'first_submit_at', first_at,
                          'last_submit_at', last_at, 'messages', sent, 'scheduled_at', scheduled_at),
       true
  FROM audit_delivery
 WHERE sent > 0;

-- Unknown codes met by the delivery's messages: each once per delivery, with the qualification it got.
INSERT INTO audit_new (delivery_id, level, event, message, details)
SELECT l.delivery_id, 'warning', 'unknown_code',
       format('Unknown code met: %s %s/%s on %s message(s), counted %s / %s until it is qualified (state to_qualify)',
              q.provider, q.raw_status, q.error_code, count(*), q.failure_type, q.failure_reason),
       jsonb_build_object('key', concat_ws('/', q.provider, q.raw_status, q.error_code), 'provider', q.provider,
                          'raw_status', q.raw_status, 'error_code', q.error_code, 'messages', count(*),
                          'failure_type', q.failure_type, 'failure_reason', q.failure_reason)
  FROM sms_tracking.delivery_log l
  JOIN sms_tracking.pending_summary p USING (delivery_id)
  JOIN sms_tracking.qualification q
    ON q.provider = l.provider AND q.raw_status = l.raw_status AND q.error_code = coalesce(l.error_code, '*')
 WHERE q.state = 'to_qualify'
 GROUP BY l.delivery_id, q.provider, q.raw_status, q.error_code, q.failure_type, q.failure_reason;

-- Content and sender refusals (decision 4: Ignored / Refused, e.g. Twilio 30007 filtered, 30034 unregistered
-- sender): they say nothing about the numbers, so they never quarantine, but the delivery's content or
-- sender was refused. One warning with their count, by provider code; again when the count changes.
INSERT INTO audit_new (delivery_id, level, event, message, details, latest_only)
SELECT delivery_id, 'warning', 'content_sender_refusals',
       format('%s message(s) refused for their content or sender (Ignored / Refused), by code: %s',
              sum(n), string_agg(code || ' ' || n, ', ' ORDER BY n DESC, code)),
       jsonb_build_object('key', sum(n)::text, 'messages', sum(n), 'codes', jsonb_object_agg(code, n)),
       true
  FROM (SELECT l.delivery_id, concat_ws('/', l.provider, l.raw_status, coalesce(l.error_code, '*')) AS code,
               count(*) AS n
          FROM sms_tracking.delivery_log l
          JOIN sms_tracking.pending_summary p USING (delivery_id)
         WHERE l.status = 'failed' AND l.failure_type = 'Ignored' AND l.failure_reason = 'Refused'
         GROUP BY 1, 2) refused
 GROUP BY delivery_id;

-- Validation of the delivery's data once it has messages: the send log against the target list and
-- the exclusions, segments against the content, report times against submit times.
CREATE TEMP TABLE audit_validation ON COMMIT DROP AS
SELECT l.delivery_id, count(*) AS sent,
       count(*) FILTER (WHERE t.recipient_id IS NULL) AS not_in_target_list,
       count(e.reason) AS to_excluded,
       count(e.reason) FILTER (WHERE e.reason IN ('Denylisted', 'Quarantined')) AS to_denylisted_or_quarantined,
       count(*) FILTER (WHERE l.segments <> a.segments_per_message) AS segments_differ,
       count(*) FILTER (WHERE l.reported_done_at < l.submitted_at) AS reports_before_submit,
       count(*) FILTER (WHERE l.reported_done_at >= l.submitted_at) AS reports_in_future
  FROM audit_delivery a
  JOIN sms_tracking.delivery_log l USING (delivery_id)
  LEFT JOIN sms_tracking.target t ON t.delivery_id = l.delivery_id AND t.recipient_id = l.recipient_id
  LEFT JOIN sms_tracking.exclusion e ON e.delivery_id = l.delivery_id AND e.recipient_id = l.recipient_id
 GROUP BY l.delivery_id;

INSERT INTO audit_new (delivery_id, level, event, message, details, latest_only)
SELECT v.delivery_id,
       CASE WHEN v.to_denylisted_or_quarantined > 0 THEN 'error'
            WHEN v.not_targeted + v.to_excluded + v.over_to_deliver + v.segments_differ + v.reports_before_submit
                 + v.reports_in_future > 0
            THEN 'warning' ELSE 'info' END,
       'validation',
       CASE WHEN v.not_targeted + v.to_excluded + v.over_to_deliver + v.segments_differ + v.reports_before_submit
                 + v.reports_in_future = 0
            THEN format('Validation passed: %s message(s) checked against the target list, the exclusions and the content',
                        v.sent)
            ELSE 'Validation found: ' || concat_ws('; ',
                 CASE WHEN v.not_targeted > 0
                      THEN v.not_targeted || ' message(s) to recipients not in the target list' END,
                 CASE WHEN v.to_excluded > 0
                      THEN v.to_excluded || ' message(s) to excluded recipients (' || v.excluded_causes || ')' END,
                 CASE WHEN v.over_to_deliver > 0
                      THEN v.over_to_deliver || ' message(s) more than recipients to deliver' END,
                 CASE WHEN v.segments_differ > 0
                      THEN v.segments_differ || ' message(s) whose send-log segments differ from the content''s '
                           || v.segments_per_message END,
                 CASE WHEN v.reports_before_submit > 0
                      THEN v.reports_before_submit || ' message(s) whose final report is dated before the submission'
                           || ' (timed by its arrival instead)' END,
                 CASE WHEN v.reports_in_future > 0
                      THEN v.reports_in_future || ' message(s) whose final report is dated after it arrived'
                           || ' (timed by its arrival instead)' END)
       END,
       jsonb_build_object('key', md5(concat_ws('/', v.sent, v.not_targeted, v.to_excluded, v.over_to_deliver,
                                               v.segments_differ, v.reports_before_submit, v.reports_in_future)),
                          'messages', v.sent, 'not_in_target_list', v.not_targeted,
                          'to_excluded_recipients', v.to_excluded, 'excluded_causes', v.excluded_causes,
                          'over_to_deliver', v.over_to_deliver, 'segments_differ', v.segments_differ,
                          'reports_before_submit', v.reports_before_submit,
                          'reports_in_future', v.reports_in_future),
       true
  FROM (
        SELECT a.delivery_id, a.sent, a.segments_per_message, c.to_excluded, c.to_denylisted_or_quarantined,
               c.segments_differ, c.reports_before_submit, c.reports_in_future,
               CASE WHEN r.targets > 0 THEN c.not_in_target_list ELSE 0 END AS not_targeted,
               CASE WHEN r.targets > 0 THEN greatest(a.sent - (r.targets - r.excluded), 0) ELSE 0 END
                   AS over_to_deliver,
               CASE WHEN c.to_excluded > 0 THEN (
                    SELECT string_agg(reason || ' ' || n, ', ' ORDER BY reason)
                      FROM (SELECT e.reason, count(*) AS n
                              FROM sms_tracking.delivery_log l
                              JOIN sms_tracking.exclusion e
                                ON e.delivery_id = l.delivery_id AND e.recipient_id = l.recipient_id
                             WHERE l.delivery_id = a.delivery_id
                             GROUP BY e.reason) by_reason) END AS excluded_causes
          FROM audit_delivery a
          JOIN audit_validation c USING (delivery_id)
         CROSS JOIN LATERAL (
                SELECT (SELECT count(*) FROM sms_tracking.target t WHERE t.delivery_id = a.delivery_id) AS targets,
                       (SELECT count(*) FROM sms_tracking.exclusion e WHERE e.delivery_id = a.delivery_id) AS excluded
                OFFSET 0  -- counted once per delivery: inlined, each use of r.targets counted the list again (7 times)
               ) r
         WHERE a.sent > 0
       ) v;

-- The landing objects not journaled yet: each report batch per delivery it brought reports for, and the
-- batch-level facts (reports for unknown message ids, rejected lines, rejected batches) in the pipeline's
-- own journal (delivery_id null).
CREATE TEMP TABLE audit_object ON COMMIT DROP AS
SELECT object_id, source, kind, uri, status, rows_read, rows_loaded, rows_duplicate, rows_rejected, rows_warned,
       finished_at,
       dag_id, run_id, task_id,
       format('%s %s (object %s, loaded %s by %s)', source, uri, object_id,
              to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
              concat_ws(' / ', coalesce(dag_id, 'no DAG'), coalesce(run_id, 'no run'), task_id)) AS described,
       jsonb_build_object('object_id', object_id, 'source', source, 'kind', kind, 'uri', uri,
                          'loaded_at', finished_at, 'loaded_by',
                          jsonb_build_object('dag_id', dag_id, 'run_id', run_id, 'task_id', task_id)) AS about
  FROM sms_tracking.source_object
 WHERE audited_at IS NULL;
ANALYZE audit_object;

-- The new objects' reports, read per object through the report_object index (OFFSET 0 keeps it so) rather
-- than a scan of every report, into a table of their own: with its row count known, the message of each
-- is one index probe (the planner's estimate for a lateral read of an average object is 1/Nth of the
-- reports, and it hashed the whole send log: 5 s for 10,000 reports on a 10M-message history).
CREATE TEMP TABLE audit_object_report ON COMMIT DROP AS
SELECT r.object_id, r.provider, r.provider_message_id, r.raw_status, r.error_code
  FROM audit_object o
 CROSS JOIN LATERAL (SELECT * FROM sms_tracking.report r WHERE r.object_id = o.object_id OFFSET 0) r
 WHERE o.kind = 'reports' AND o.status = 'loaded';
ANALYZE audit_object_report;

-- Each new report's delivery (null for an unknown message id), outcome and finality, looked up as
-- sms_tracking.report_qualified does (exact status and code, else the status's '*' row, else the
-- provider's '*' row; rows in every state) but with joins, so a batch of a million reports
-- costs a hash join rather than a million lookups. Counted at once: the events below need only the counts,
-- and the qualification is looked up per (delivery, object, status, code) counted, not per report.
CREATE TEMP TABLE audit_report ON COMMIT DROP AS
SELECT r.delivery_id, r.object_id,
       coalesce(q1.outcome, q2.outcome, q3.outcome, 'failed') AS outcome,
       coalesce(q1.is_final, q2.is_final, q3.is_final, true) AS is_final,
       sum(r.reports)::bigint AS reports
  FROM (SELECT coalesce(l.delivery_id, m.delivery_id) AS delivery_id, r.object_id, r.provider, r.raw_status,
               r.error_code, count(*) AS reports
          FROM audit_object_report r
          -- The message's delivery as the log holds it: the delivery_log step before this one read those rows,
          -- so they are in the cache, where a look-up in the send log is one more page read per report (a
          -- late batch on a 10M-message history: 18,200). The send log only for a message the log has not
          -- built yet (loaded since that step); OFFSET 0 keeps that look-up from becoming a join of every report
          -- with the send log.
          LEFT JOIN sms_tracking.delivery_log l USING (provider, provider_message_id)
          LEFT JOIN LATERAL (SELECT s.delivery_id FROM sms_tracking.message s
                              WHERE (s.provider, s.provider_message_id) = (r.provider, r.provider_message_id)
                                AND l.provider IS NULL OFFSET 0) m ON true
         GROUP BY 1, 2, 3, 4, 5) r
  LEFT JOIN sms_tracking.qualification q1
         ON q1.provider = r.provider AND q1.raw_status = r.raw_status AND q1.error_code = coalesce(r.error_code, '*')
  LEFT JOIN sms_tracking.qualification q2
         ON q2.provider = r.provider AND q2.raw_status = r.raw_status AND q2.error_code = '*'
  LEFT JOIN sms_tracking.qualification q3
         ON q3.provider = r.provider AND q3.raw_status = '*' AND q3.error_code = '*'
 GROUP BY 1, 2, 3, 4;

INSERT INTO audit_new (delivery_id, level, event, message, details)
SELECT c.delivery_id, 'info', 'reports_ingested',
       format('Reports ingested: %s from %s: %s final (%s delivered, %s failed), %s intermediate',
              c.reports, o.described, c.final, c.delivered, c.failed, c.intermediate),
       o.about || jsonb_build_object('key', o.object_id::text, 'reports', c.reports, 'final', c.final,
                                     'delivered', c.delivered, 'failed', c.failed, 'intermediate', c.intermediate)
  FROM (SELECT delivery_id, object_id, sum(reports)::bigint AS reports,
               coalesce(sum(reports) FILTER (WHERE is_final), 0)::bigint AS final,
               coalesce(sum(reports) FILTER (WHERE is_final AND outcome = 'delivered'), 0)::bigint AS delivered,
               coalesce(sum(reports) FILTER (WHERE is_final AND outcome = 'failed'), 0)::bigint AS failed,
               coalesce(sum(reports) FILTER (WHERE NOT is_final), 0)::bigint AS intermediate
          FROM audit_report
         WHERE delivery_id IS NOT NULL
         GROUP BY delivery_id, object_id) c
  JOIN audit_object o USING (object_id);

INSERT INTO audit_new (delivery_id, level, event, message, details)
SELECT NULL, 'warning', 'reports_unknown_message',
       format('%s of the %s reports of %s name no message of the send log (unknown message ids); they join their message when its send-log row arrives',
              u.unknown, o.rows_loaded, o.described),
       o.about || jsonb_build_object('key', o.object_id::text, 'reports_unknown_message', u.unknown)
  FROM (SELECT object_id, sum(reports)::bigint AS unknown FROM audit_report WHERE delivery_id IS NULL GROUP BY object_id) u
  JOIN audit_object o USING (object_id);

INSERT INTO audit_new (delivery_id, level, event, message, details)
SELECT NULL,
       CASE WHEN o.status = 'rejected' THEN 'error' ELSE 'warning' END,
       CASE WHEN o.status = 'rejected' THEN 'object_rejected' ELSE 'lines_rejected' END,
       CASE WHEN o.status = 'rejected'
            THEN format('Batch rejected: %s of %s lines of %s are bad, over SMS_TRACKING_MAX_REJECT_RATE; nothing from it was loaded (reasons in sms_tracking.reject)',
                        o.rows_rejected, o.rows_read, o.described)
            ELSE format('%s of %s lines of %s rejected, the rest loaded (reasons in sms_tracking.reject)',
                        o.rows_rejected, o.rows_read, o.described) END,
       o.about || jsonb_build_object('key', o.object_id::text, 'rows_read', o.rows_read,
                                     'rows_rejected', o.rows_rejected)
  FROM audit_object o
 WHERE o.status = 'rejected' OR (o.status = 'loaded' AND o.rows_rejected > 0);

-- Reports kept although part of them could not be read (a misspelt SMPP field label): counted per object,
-- with the first warning as an example (the others are in sms_tracking.report.parse_warning).
INSERT INTO audit_new (delivery_id, level, event, message, details)
SELECT NULL, 'warning', 'reports_with_parse_warnings',
       format('%s of the %s reports of %s were kept with a parse warning (sms_tracking.report.parse_warning), e.g. line %s: %s',
              o.rows_warned, o.rows_loaded, o.described, w.position, w.parse_warning),
       o.about || jsonb_build_object('key', o.object_id::text, 'reports_with_parse_warnings', o.rows_warned,
                                     'example', w.parse_warning)
  FROM audit_object o
  LEFT JOIN LATERAL (SELECT r.position, r.parse_warning FROM sms_tracking.report r
                      WHERE r.object_id = o.object_id AND r.parse_warning IS NOT NULL
                      ORDER BY r.position LIMIT 1) w ON true
 WHERE o.status = 'loaded' AND o.rows_warned > 0;

INSERT INTO sms_tracking.audit_event (delivery_id, level, event, message, details, dag_id, run_id, task_id)
SELECT n.delivery_id, n.level, n.event, n.message, n.details, %(dag_id)s, %(run_id)s, %(task_id)s
  FROM audit_new n
 WHERE CASE WHEN n.latest_only
            THEN (SELECT a.details ->> 'key' FROM sms_tracking.audit_event a
                   WHERE a.delivery_id = n.delivery_id AND a.event = n.event
                   ORDER BY a.at DESC LIMIT 1) IS DISTINCT FROM n.details ->> 'key'
            -- Equality (or IS NULL for the pipeline's own journal), not IS NOT DISTINCT FROM: that cannot use
            -- the delivery index, and the lookup became a scan of the journal per new event (quadratic:
            -- minutes on a 5M-message first load).
            WHEN n.delivery_id IS NULL
            THEN NOT EXISTS (SELECT 1 FROM sms_tracking.audit_event a
                              WHERE a.delivery_id IS NULL AND a.event = n.event
                                AND a.details ->> 'key' = n.details ->> 'key')
            ELSE NOT EXISTS (SELECT 1 FROM sms_tracking.audit_event a
                              WHERE a.delivery_id = n.delivery_id AND a.event = n.event
                                AND a.details ->> 'key' = n.details ->> 'key') END
 ORDER BY n.delivery_id, n.event;

UPDATE sms_tracking.source_object o SET audited_at = now()
  FROM audit_object a WHERE o.object_id = a.object_id;
