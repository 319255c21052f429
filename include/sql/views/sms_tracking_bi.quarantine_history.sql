-- The numbers are shown as sms_tracking.bi_setting says (phone_for_bi, docs/bi.md).
CREATE OR REPLACE VIEW sms_tracking_bi.quarantine_history AS
SELECT sms_tracking_bi.phone_for_bi(h.phone_e164, p.exposure, p.salt) AS phone, h.at, h.from_status, h.to_status,
       h.error_count, h.cause_kind, h.event_kind,
       CASE WHEN h.cause_kind <> 'user' THEN h.reason END AS reason,
       h.delivery_id, h.provider, h.provider_message_id
  FROM sms_tracking.quarantine_history h
 CROSS JOIN sms_tracking.bi_phone_exposure p;
