-- The numbers are shown as sms_tracking.bi_setting says (phone_for_bi, docs/bi.md).
CREATE OR REPLACE VIEW sms_tracking_bi.delivery_log AS
SELECT l.delivery_id, l.recipient_id, sms_tracking_bi.phone_for_bi(l.phone_e164, p.exposure, p.salt) AS phone,
       l.provider, l.provider_message_id, l.status, l.is_final, l.failure_type, l.failure_reason, l.raw_status,
       l.error_code, l.submitted_at, l.done_at, l.last_report_at,
       CASE WHEN l.is_final AND l.done_at IS NOT NULL
            THEN round(greatest(extract(epoch FROM l.done_at - l.submitted_at), 0), 1) END AS latency_s,
       l.report_count, l.segments, l.price, l.price_unit, st.label AS status_label
  FROM sms_tracking.delivery_log l
  JOIN sms_tracking.delivery_status st USING (status)
  LEFT JOIN sms_tracking.delivery d USING (delivery_id)
 CROSS JOIN sms_tracking.bi_phone_exposure p
 WHERE d.is_proof IS NOT TRUE;
