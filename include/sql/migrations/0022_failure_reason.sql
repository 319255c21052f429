-- Failure reasons are a controlled vocabulary (issue 17 point 2, decision 12): Adobe's reasons with their
-- ids, the failure types each allows, whether a failure with it counts toward quarantine and how such a
-- number leaves With errors. The qualification table references it, so a seed row, an override or an edit
-- with an unknown reason, or a type its reason does not allow, is refused (the message naming the allowed
-- values comes from the trigger in include/sql/functions/qualification_reason_check.sql). Until now the
-- reason was free text: an override with Adobe's label "Denylisted address" quarantined instead of
-- denylisting (the quarantine step compared with 'Denylisted'), and "Mailbox Full" was never released
-- after 30 days (the cleanup compared with 'Mailbox full').
CREATE TABLE sms_tracking.failure_reason (
    reason                   text     PRIMARY KEY,
    adobe_id                 smallint UNIQUE,
    adobe_name               text     NOT NULL,
    counts_toward_quarantine boolean  NOT NULL,
    release_rule             text     CHECK (release_rule IN ('with_errors_release', 'mailbox_full_release', 'denylist')),
    description              text     NOT NULL,
    CHECK (counts_toward_quarantine = (release_rule IS NOT NULL))
);
COMMENT ON TABLE sms_tracking.failure_reason IS
    'Adobe''s failure reasons (docs/qualification.md): the only reasons a qualification row may give';
COMMENT ON COLUMN sms_tracking.failure_reason.release_rule IS
    'with_errors_release: With errors released after with_errors_release_days; mailbox_full_release: '
    'after mailbox_full_release_days; denylist: the number goes to Denylisted, never released';

CREATE TABLE sms_tracking.failure_reason_type (
    reason       text NOT NULL REFERENCES sms_tracking.failure_reason,
    failure_type text NOT NULL CHECK (failure_type IN ('Hard', 'Soft', 'Ignored')),
    PRIMARY KEY (reason, failure_type)
);
COMMENT ON TABLE sms_tracking.failure_reason_type IS 'the failure types each failure reason allows';

INSERT INTO sms_tracking.failure_reason (
    reason, adobe_id, adobe_name, counts_toward_quarantine, release_rule, description) VALUES
    ('Not defined', 0, 'Not defined', true, 'with_errors_release',
     'unqualified or unknown error; the default for a new status (decision 1)'),
    ('User unknown', 1, 'User unknown', true, 'with_errors_release', 'the number does not exist'),
    ('Invalid domain', 2, 'Invalid domain', true, 'with_errors_release', 'email only'),
    ('Unreachable', 3, 'Unreachable', true, 'with_errors_release', 'an error in the delivery chain'),
    ('Account disabled', 4, 'Account disabled', true, 'with_errors_release',
     'the subscription cannot receive SMS (not provisioned, suspended, out of credit)'),
    ('Mailbox full', 5, 'Mailbox full', true, 'mailbox_full_release',
     'handset memory full; With errors released after 30 days (decision 3)'),
    ('Not connected', 6, 'Not connected', false, NULL,
     'handset off, absent or busy; never counts toward quarantine (decision 2)'),
    ('Address empty', 7, 'Address not specified', true, 'with_errors_release', 'no recipient in the request'),
    ('Denylisted', 8, 'Denylisted address', true, 'denylist',
     'an opt-out signal: the number goes to Denylisted, never released automatically (decision 5)'),
    ('Quarantined', 9, 'Address in quarantine', true, 'with_errors_release', 'an exclusion at preparation'),
    ('Duplicate', 10, 'Double', false, NULL, 'an exclusion at preparation'),
    ('Refused', 20, 'Refused', true, 'with_errors_release',
     'a refusal: barred, blocked, filtered; Ignored for content or sender refusals (decision 4)'),
    ('Error ignored', 25, 'Error ignored', false, NULL,
     'the failure of a number on the allowlist, sent anyway (decision 9)'),
    ('Text too long', NULL, 'Text too long', false, NULL, 'the message is over the length limit (Campaign Standard)'),
    ('Character not supported', NULL, 'Character not supported by encoding', false, NULL,
     'a character not in the encoding (Campaign Standard)');

INSERT INTO sms_tracking.failure_reason_type (reason, failure_type) VALUES
    ('Not defined', 'Soft'), ('Not defined', 'Hard'), ('Not defined', 'Ignored'),
    ('User unknown', 'Hard'),
    ('Invalid domain', 'Soft'),
    ('Unreachable', 'Soft'), ('Unreachable', 'Hard'),
    ('Account disabled', 'Soft'), ('Account disabled', 'Hard'),
    ('Mailbox full', 'Soft'),
    ('Not connected', 'Ignored'),
    ('Address empty', 'Hard'),
    ('Denylisted', 'Hard'),
    ('Quarantined', 'Hard'),
    ('Duplicate', 'Ignored'),
    ('Refused', 'Soft'), ('Refused', 'Hard'), ('Refused', 'Ignored'),
    ('Error ignored', 'Ignored'),
    ('Text too long', 'Ignored'),
    ('Character not supported', 'Ignored');

-- Existing rows: a reason written with Adobe's label or another casing takes the table's name; an unknown
-- one becomes Not defined and its row goes back to be qualified, saying what it was.
UPDATE sms_tracking.qualification q
   SET failure_reason = r.reason, updated_at = now()
  FROM sms_tracking.failure_reason r
 WHERE q.failure_reason IS DISTINCT FROM r.reason
   AND lower(btrim(q.failure_reason)) IN (lower(r.reason), lower(r.adobe_name));
UPDATE sms_tracking.qualification q
   SET description = 'reason ' || quote_literal(q.failure_reason) || ' is not a failure reason (migration 0022); '
                     || coalesce(q.description, ''),
       failure_reason = 'Not defined', state = 'to_qualify', updated_at = now()
 WHERE q.failure_reason IS NOT NULL
   AND q.failure_reason NOT IN (SELECT reason FROM sms_tracking.failure_reason);
-- A type the reason does not allow: the reason's first allowed type (Hard, then Soft, then Ignored), to qualify.
UPDATE sms_tracking.qualification q
   SET description = 'type ' || quote_literal(q.failure_type) || ' not allowed for ' || q.failure_reason
                     || ' (migration 0022); ' || coalesce(q.description, ''),
       failure_type = (SELECT t.failure_type FROM sms_tracking.failure_reason_type t WHERE t.reason = q.failure_reason
                        ORDER BY array_position(ARRAY['Hard', 'Soft', 'Ignored'], t.failure_type) LIMIT 1),
       state = 'to_qualify', updated_at = now()
 WHERE q.failure_type IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM sms_tracking.failure_reason_type t
                    WHERE t.reason = q.failure_reason AND t.failure_type = q.failure_type);

ALTER TABLE sms_tracking.qualification
    ADD CONSTRAINT qualification_reason_known
        FOREIGN KEY (failure_reason) REFERENCES sms_tracking.failure_reason,
    ADD CONSTRAINT qualification_reason_type_allowed
        FOREIGN KEY (failure_reason, failure_type) REFERENCES sms_tracking.failure_reason_type,
    ADD CONSTRAINT qualification_type_with_reason CHECK ((failure_type IS NULL) = (failure_reason IS NULL));

-- Existing data: the messages whose log row the table now qualifies differently are queued; the next build
-- rebuilds their log rows, replays their numbers (a "Denylisted address" failure now denylists) and
-- recomputes their deliveries' summaries.
INSERT INTO sms_tracking.pending_message (provider, provider_message_id)
SELECT l.provider, l.provider_message_id
  FROM sms_tracking.delivery_log l
  JOIN sms_tracking.report_qualified rq ON rq.report_id = l.report_id
 WHERE l.status = 'failed'
   AND (l.status, l.is_final, l.failure_type, l.failure_reason, l.quarantine_ignored)
       IS DISTINCT FROM (rq.outcome, rq.is_final, rq.failure_type, rq.failure_reason, rq.quarantine_ignored)
ON CONFLICT DO NOTHING;
