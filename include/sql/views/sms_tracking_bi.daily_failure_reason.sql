CREATE OR REPLACE VIEW sms_tracking_bi.daily_failure_reason AS
SELECT f.day, f.provider, f.failure_type, f.failure_reason, f.failed, f.segments, f.cost,
       round(f.failed::numeric / nullif(sum(f.failed) OVER (PARTITION BY f.day, f.provider), 0), 6)
           AS share_of_failed
  FROM sms_tracking.daily_failure_reason f;
