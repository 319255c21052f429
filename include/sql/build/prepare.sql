-- Step 1 of the build: prepare the target lists loaded since the last build (Adobe's delivery analysis,
-- docs/exclusions.md). Each recipient not decided yet is either excluded, with the first reason that
-- applies in this order, or put on the send list:
--   Address empty   no phone in the profile
--   Invalid number  a phone that is not a possible number (no E.164 form)
--   Duplicate       the same E.164 number as a recipient with a smaller id (or one already prepared)
--   Denylisted      the number is Denylisted in the quarantine table now
--   Quarantined     the number is in Quarantine now; a proof delivery sends it anyway, flagged
--   Control group   a deterministic draw on (delivery, recipient), proofs excepted
-- A decision is never revisited, so a re-run or a later quarantine change leaves a prepared list as it
-- is. A target list whose delivery is not loaded yet stays in the queue.
SELECT pg_advisory_xact_lock(sms_tracking.build_lock());

CREATE TEMP TABLE prepare_delivery ON COMMIT DROP AS
SELECT p.delivery_id, d.is_proof
  FROM sms_tracking.pending_preparation p
  JOIN sms_tracking.delivery d USING (delivery_id);
ANALYZE prepare_delivery;

CREATE TEMP TABLE prepare_decision ON COMMIT DROP AS
WITH undecided AS (
    SELECT t.delivery_id, t.recipient_id, t.phone_raw, t.phone_e164, pd.is_proof, q.status AS quarantine_status,
           row_number() OVER (PARTITION BY t.delivery_id, t.phone_e164 ORDER BY t.recipient_id COLLATE "C") AS rank,
           EXISTS (SELECT 1 FROM sms_tracking.send_list s
                    WHERE s.delivery_id = t.delivery_id AND s.phone_e164 = t.phone_e164)
           OR EXISTS (SELECT 1 FROM sms_tracking.exclusion e
                       WHERE e.delivery_id = t.delivery_id AND e.phone_e164 = t.phone_e164) AS seen_before
      FROM sms_tracking.target t
      JOIN prepare_delivery pd USING (delivery_id)
      LEFT JOIN sms_tracking.quarantine q ON q.phone_e164 = t.phone_e164
     WHERE NOT EXISTS (SELECT 1 FROM sms_tracking.exclusion e
                        WHERE e.delivery_id = t.delivery_id AND e.recipient_id = t.recipient_id)
       AND NOT EXISTS (SELECT 1 FROM sms_tracking.send_list s
                        WHERE s.delivery_id = t.delivery_id AND s.recipient_id = t.recipient_id)
)
SELECT u.*,
       CASE WHEN u.phone_raw IS NULL OR btrim(u.phone_raw) = '' THEN 'Address empty'
            WHEN u.phone_e164 IS NULL THEN 'Invalid number'
            WHEN u.rank > 1 OR u.seen_before THEN 'Duplicate'
            WHEN u.quarantine_status = 'Denylisted' THEN 'Denylisted'
            WHEN u.quarantine_status = 'Quarantine' AND NOT u.is_proof THEN 'Quarantined'
            -- No draw (an md5 per target) when the control group is off, as it is by default.
            WHEN NOT u.is_proof AND %(control_group_basis_points)s > 0
                 AND sms_tracking.control_group_draw(u.delivery_id, u.recipient_id)
                     < %(control_group_basis_points)s THEN 'Control group'
       END AS reason
  FROM undecided u;

INSERT INTO sms_tracking.exclusion (delivery_id, recipient_id, phone_raw, phone_e164, reason, prepared_at, run_id)
SELECT delivery_id, recipient_id, phone_raw, phone_e164, reason, now(), %(run_id)s
  FROM prepare_decision
 WHERE reason IS NOT NULL;

INSERT INTO sms_tracking.send_list (delivery_id, recipient_id, phone_e164, flag, prepared_at, run_id)
SELECT delivery_id, recipient_id, phone_e164, CASE WHEN quarantine_status = 'Quarantine' THEN 'Quarantine' END, now(),
       %(run_id)s
  FROM prepare_decision
 WHERE reason IS NULL;

-- The decisions counted once per delivery and reason: the journal and both queues read these few rows.
CREATE TEMP TABLE prepare_count ON COMMIT DROP AS
SELECT delivery_id, bool_or(is_proof) AS is_proof, reason, count(*) AS n,
       count(*) FILTER (WHERE reason IS NULL AND quarantine_status = 'Quarantine') AS flagged
  FROM prepare_decision
 GROUP BY delivery_id, reason;

-- The preparation counts go to the delivery's journal; a proof sent to quarantined numbers is a warning.
INSERT INTO sms_tracking.audit_event (delivery_id, level, event, message, details, dag_id, run_id, task_id)
SELECT delivery_id,
       CASE WHEN sum(flagged) > 0 THEN 'warning' ELSE 'info' END,
       'prepared',
       sum(n) || ' target recipient(s) prepared: ' || coalesce(sum(n) FILTER (WHERE reason IS NULL), 0)
           || ' to send, ' || coalesce(sum(n) FILTER (WHERE reason IS NOT NULL), 0) || ' excluded'
           || coalesce(' (' || string_agg(reason || ' ' || n, ', ' ORDER BY reason) || ')', '')
           || CASE WHEN sum(flagged) > 0
                   THEN '; proof sent to ' || sum(flagged) || ' number(s) in quarantine' ELSE '' END,
       jsonb_build_object(
           'targeted', sum(n),
           'to_send', coalesce(sum(n) FILTER (WHERE reason IS NULL), 0),
           'excluded', coalesce(jsonb_object_agg(reason, n) FILTER (WHERE reason IS NOT NULL), '{}'::jsonb),
           'proof', bool_or(is_proof),
           'flagged_in_quarantine', sum(flagged),
           'control_group_basis_points', %(control_group_basis_points)s),
       %(dag_id)s, %(run_id)s, %(task_id)s
  FROM prepare_count
 GROUP BY delivery_id;

INSERT INTO sms_tracking.pending_export (delivery_id)
SELECT DISTINCT delivery_id FROM prepare_count
ON CONFLICT DO NOTHING;

INSERT INTO sms_tracking.pending_delivery (delivery_id)
SELECT DISTINCT delivery_id FROM prepare_count
ON CONFLICT DO NOTHING;

DELETE FROM sms_tracking.pending_preparation
 WHERE delivery_id IN (SELECT delivery_id FROM prepare_delivery);
