CREATE OR REPLACE VIEW sms_tracking_bi.delivery_exclusion_cause AS
SELECT e.delivery_id, e.reason, e.recipients,
       round(e.recipients::numeric / nullif(s.initial_population, 0), 6) AS share_of_initial_population
  FROM sms_tracking.delivery_exclusion_summary e
  JOIN sms_tracking.delivery_summary s USING (delivery_id)
 WHERE NOT s.is_proof;
