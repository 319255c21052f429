-- Phone numbers in the BI contract (docs/bi.md): the message-level views that carry them, and the setting
-- that exposes them in clear (the default) or only as a salted SHA-256. The views read the setting and the
-- salt with their owner's rights, so the BI role never sees the salt and cannot hash numbers of its choosing.

CREATE TABLE sms_tracking.bi_setting (
    key   text PRIMARY KEY CHECK (key IN ('phone_exposure', 'phone_salt')),
    value text NOT NULL,
    CHECK (key <> 'phone_exposure' OR value IN ('clear', 'salted_hash'))
);
COMMENT ON TABLE sms_tracking.bi_setting IS
    'Settings of the BI views (docs/bi.md): phone_exposure = clear | salted_hash, phone_salt = the secret salt';
COMMENT ON COLUMN sms_tracking.bi_setting.key IS 'phone_exposure or phone_salt';
COMMENT ON COLUMN sms_tracking.bi_setting.value IS
    'phone_exposure: clear (numbers as stored, E.164) or salted_hash; phone_salt: any secret text, 32+ random characters';
INSERT INTO sms_tracking.bi_setting (key, value) VALUES ('phone_exposure', 'clear');

-- One row, whatever the table holds: what the views join.
CREATE VIEW sms_tracking.bi_phone_exposure AS
SELECT coalesce(max(value) FILTER (WHERE key = 'phone_exposure'), 'clear') AS exposure,
       max(value) FILTER (WHERE key = 'phone_salt') AS salt
  FROM sms_tracking.bi_setting;
COMMENT ON VIEW sms_tracking.bi_phone_exposure IS 'sms_tracking.bi_setting as the single row the BI views join';

-- Pure: the salt is an argument, so calling it directly gives nothing away.
CREATE FUNCTION sms_tracking_bi.phone_for_bi(phone_e164 text, exposure text, salt text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE exposure WHEN 'clear' THEN phone_e164 WHEN 'salted_hash' THEN CASE WHEN coalesce(salt, '') <> '' THEN encode(sha256(convert_to(salt || phone_e164, 'UTF8')), 'hex') END END $$;
COMMENT ON FUNCTION sms_tracking_bi.phone_for_bi(text, text, text) IS
    'A number as the BI views show it: as is when exposure = clear; lower-case hex SHA-256 of salt || number when '
    'salted_hash (null without a salt: the views fail closed); null for any other exposure';

CREATE VIEW sms_tracking_bi.delivery_log AS
SELECT l.delivery_id, l.recipient_id, sms_tracking_bi.phone_for_bi(l.phone_e164, p.exposure, p.salt) AS phone,
       l.provider, l.provider_message_id, l.status, l.is_final, l.failure_type, l.failure_reason, l.raw_status,
       l.error_code, l.submitted_at, l.done_at, l.last_report_at,
       CASE WHEN l.is_final AND l.done_at IS NOT NULL
            THEN round(greatest(extract(epoch FROM l.done_at - l.submitted_at), 0), 1) END AS latency_s,
       l.report_count, l.segments, l.price, l.price_unit
  FROM sms_tracking.delivery_log l
  LEFT JOIN sms_tracking.delivery d USING (delivery_id)
 CROSS JOIN sms_tracking.bi_phone_exposure p
 WHERE d.is_proof IS NOT TRUE;
COMMENT ON VIEW sms_tracking_bi.delivery_log IS
    'One row per message sent with its final status under final-status precedence (Adobe''s delivery logs); proofs excluded';

CREATE VIEW sms_tracking_bi.exclusion AS
SELECT e.delivery_id, e.recipient_id, sms_tracking_bi.phone_for_bi(e.phone_e164, p.exposure, p.salt) AS phone,
       e.reason, e.prepared_at
  FROM sms_tracking.exclusion e
  LEFT JOIN sms_tracking.delivery d USING (delivery_id)
 CROSS JOIN sms_tracking.bi_phone_exposure p
 WHERE d.is_proof IS NOT TRUE;
COMMENT ON VIEW sms_tracking_bi.exclusion IS
    'Each target recipient excluded at preparation and why (Adobe''s exclusion logs); proofs excluded';

CREATE VIEW sms_tracking_bi.quarantine AS
SELECT sms_tracking_bi.phone_for_bi(q.phone_e164, p.exposure, p.salt) AS phone, q.status, q.error_count,
       q.first_error_at, q.last_error_at, q.last_error_reason, q.updated_at
  FROM sms_tracking.quarantine q
 CROSS JOIN sms_tracking.bi_phone_exposure p;
COMMENT ON VIEW sms_tracking_bi.quarantine IS
    'The state of every number that ever left Valid (Adobe''s Non deliverables and addresses); a number absent is Valid';

CREATE VIEW sms_tracking_bi.quarantine_history AS
SELECT sms_tracking_bi.phone_for_bi(h.phone_e164, p.exposure, p.salt) AS phone, h.at, h.from_status, h.to_status,
       h.error_count, h.cause_kind, h.event_kind,
       CASE WHEN h.cause_kind <> 'user' THEN h.reason END AS reason,
       h.delivery_id, h.provider, h.provider_message_id
  FROM sms_tracking.quarantine_history h
 CROSS JOIN sms_tracking.bi_phone_exposure p;
COMMENT ON VIEW sms_tracking_bi.quarantine_history IS
    'Every change of a number''s status or error counter, with its cause; notes typed by users are not exposed';

COMMENT ON COLUMN sms_tracking_bi.delivery_log.delivery_id IS 'the delivery the message belongs to';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.recipient_id IS 'the recipient in the sending system';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.phone IS
    'the number sent to (E.164), or its salted SHA-256 (64 hex digits) when sms_tracking.bi_setting phone_exposure = salted_hash';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.provider IS 'provider the message was submitted to';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.provider_message_id IS 'the provider''s id of the message (submit_sm_resp id, Twilio SID...)';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.status IS 'pending, delivered or failed: the final report''s outcome, pending without one';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.is_final IS 'a final report (delivered or failed) was received';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.failure_type IS 'Hard, Soft or Ignored when failed (docs/qualification.md)';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.failure_reason IS 'Adobe failure reason when failed (User unknown, Unreachable, ...)';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.raw_status IS 'the status of the deciding report in the provider''s words (DELIVRD, undelivered...)';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.error_code IS 'the provider error code of the deciding report, normalised';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.submitted_at IS 'when the message was handed to the provider (send log)';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.done_at IS 'time of the final report (its done date); null while pending';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.last_report_at IS 'time of the latest report of any kind';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.latency_s IS 'seconds from submit to the final report''s time, negative gaps count 0; null while pending (the summary''s latency percentiles are over this)';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.report_count IS 'reports stored for the message (duplicates are stored once)';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.segments IS 'SMS parts of the message (send log)';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.price IS 'the latest price a report gave for the message, as the provider wrote it (Twilio charges are negative); null when none did';
COMMENT ON COLUMN sms_tracking_bi.delivery_log.price_unit IS 'currency of price';

COMMENT ON COLUMN sms_tracking_bi.exclusion.delivery_id IS 'the delivery whose target list held the recipient';
COMMENT ON COLUMN sms_tracking_bi.exclusion.recipient_id IS 'the recipient in the sending system';
COMMENT ON COLUMN sms_tracking_bi.exclusion.phone IS
    'the recipient''s number read as E.164 (null when empty or invalid), or its salted SHA-256 when phone_exposure = salted_hash';
COMMENT ON COLUMN sms_tracking_bi.exclusion.reason IS 'exclusion cause (Address empty, Invalid number, Duplicate, Quarantined, Denylisted, Control group)';
COMMENT ON COLUMN sms_tracking_bi.exclusion.prepared_at IS 'when the target list was prepared';

COMMENT ON COLUMN sms_tracking_bi.quarantine.phone IS
    'the number (E.164), or its salted SHA-256 when phone_exposure = salted_hash';
COMMENT ON COLUMN sms_tracking_bi.quarantine.status IS 'With errors, Quarantine, Denylisted, Allowlisted or Valid (released)';
COMMENT ON COLUMN sms_tracking_bi.quarantine.error_count IS 'errors counted towards quarantine since the number was last valid';
COMMENT ON COLUMN sms_tracking_bi.quarantine.first_error_at IS 'first error of the current count';
COMMENT ON COLUMN sms_tracking_bi.quarantine.last_error_at IS 'latest error';
COMMENT ON COLUMN sms_tracking_bi.quarantine.last_error_reason IS 'failure reason of the latest error';
COMMENT ON COLUMN sms_tracking_bi.quarantine.updated_at IS 'time of the event that set the current state';

COMMENT ON COLUMN sms_tracking_bi.quarantine_history.phone IS
    'the number (E.164), or its salted SHA-256 when phone_exposure = salted_hash';
COMMENT ON COLUMN sms_tracking_bi.quarantine_history.at IS 'event time of the change';
COMMENT ON COLUMN sms_tracking_bi.quarantine_history.from_status IS 'status before';
COMMENT ON COLUMN sms_tracking_bi.quarantine_history.to_status IS 'status after';
COMMENT ON COLUMN sms_tracking_bi.quarantine_history.error_count IS 'error counter after the change';
COMMENT ON COLUMN sms_tracking_bi.quarantine_history.cause_kind IS 'what caused it: delivery, report, rule, inbound or user';
COMMENT ON COLUMN sms_tracking_bi.quarantine_history.event_kind IS 'the event: hard, soft, success, optout, stop, start, release, set...';
COMMENT ON COLUMN sms_tracking_bi.quarantine_history.reason IS 'failure reason or keyword of the event; null for changes made by users (their notes stay private)';
COMMENT ON COLUMN sms_tracking_bi.quarantine_history.delivery_id IS 'the delivery of the message that caused it, if any';
COMMENT ON COLUMN sms_tracking_bi.quarantine_history.provider IS 'provider of that message or inbound message';
COMMENT ON COLUMN sms_tracking_bi.quarantine_history.provider_message_id IS 'that message';
