-- Adobe's qualification state Ignore (decision 10): an ignored row still types its failures (type and
-- reason stay in the KPIs), but they never count toward quarantine. Until now the look-up skipped ignored
-- rows: their reports fell back to the wildcard row, which typed them and quarantined their numbers. The
-- look-up now reads every row and says whether the row that typed a failure is ignored; the delivery log
-- keeps that flag, which the quarantine step reads (include/sql/build/quarantine.sql).
ALTER TABLE sms_tracking.delivery_log ADD COLUMN quarantine_ignored boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN sms_tracking.delivery_log.quarantine_ignored IS
    'the failure was typed by a qualification row in state ignore: it never counts toward quarantine';

-- Each report with its qualification, in two steps (docs/qualification.md):
-- 1. the outcome comes from the status: the exact (status, code) row, else (status, *), else (*, *);
-- 2. a failure's type and reason come from the most specific row: (status, code) > (*, code) > (status, *) > (*, *).
-- Rows in every state take part; quarantine_ignored says the failure's row is in state 'ignore'.
-- A database migrated before this migration holds 0001's first version (0001 no longer creates it, see
-- rewritten.toml); a fresh database has none yet.
DROP VIEW IF EXISTS sms_tracking.report_qualified;
CREATE VIEW sms_tracking.report_qualified AS
SELECT r.*,
       coalesce(o.outcome, 'failed')    AS outcome,
       coalesce(o.is_final, true)       AS is_final,
       CASE WHEN coalesce(o.outcome, 'failed') = 'failed' THEN f.failure_type END   AS failure_type,
       CASE WHEN coalesce(o.outcome, 'failed') = 'failed' THEN f.failure_reason END AS failure_reason,
       f.raw_status                     AS qualification_status,
       f.error_code                     AS qualification_code,
       coalesce(coalesce(o.outcome, 'failed') = 'failed' AND f.state = 'ignore', false) AS quarantine_ignored
  FROM sms_tracking.report r
  LEFT JOIN LATERAL (
        SELECT q.outcome, q.is_final
          FROM sms_tracking.qualification q
         WHERE q.provider = r.provider
           AND ((q.raw_status = r.raw_status AND q.error_code IN (coalesce(r.error_code, '*'), '*'))
                OR (q.raw_status = '*' AND q.error_code = '*'))
         ORDER BY q.raw_status = '*', q.error_code = '*'
         LIMIT 1) o ON true
  LEFT JOIN LATERAL (
        SELECT q.failure_type, q.failure_reason, q.raw_status, q.error_code, q.state
          FROM sms_tracking.qualification q
         WHERE q.provider = r.provider AND q.outcome = 'failed'
           AND q.raw_status IN (r.raw_status, '*') AND q.error_code IN (coalesce(r.error_code, '*'), '*')
         ORDER BY q.error_code = '*', q.raw_status = '*'
         LIMIT 1) f ON true;

-- Existing data: the messages of a provider with ignored rows whose log row the look-up now qualifies
-- differently are queued; the next build rebuilds their log rows, replays their numbers (an ignored
-- failure's quarantine event vanishes) and recomputes their deliveries' summaries.
INSERT INTO sms_tracking.pending_message (provider, provider_message_id)
SELECT l.provider, l.provider_message_id
  FROM sms_tracking.delivery_log l
  JOIN sms_tracking.report_qualified rq ON rq.report_id = l.report_id
 WHERE l.provider IN (SELECT provider FROM sms_tracking.qualification WHERE state = 'ignore')
   AND (l.status, l.is_final, l.failure_type, l.failure_reason, l.quarantine_ignored)
       IS DISTINCT FROM (rq.outcome, rq.is_final, rq.failure_type, rq.failure_reason, rq.quarantine_ignored)
ON CONFLICT DO NOTHING;
