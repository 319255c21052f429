-- Adobe's "Exclusion causes": recipients excluded per delivery and reason.
CREATE OR REPLACE VIEW sms_tracking.exclusion_cause AS
SELECT delivery_id, reason, count(*) AS recipients
  FROM sms_tracking.exclusion
 GROUP BY delivery_id, reason;
