-- Quarantine rows of the numbers of the delivery-log rows of the deliveries this run refreshed, each once and as
-- stored (rows_of_table in the suite: its primary key proves the number unique). The run's log rows probe the
-- quarantine, then each row found is kept once: as a semi-join, the planner grouped the run's million log
-- numbers first (420,000 groups at 1M) to probe the quarantine with (1.3-1.5 s of backend CPU, now 0.8-0.9 s).
-- On a small run both probe the quarantine's primary key per log row.
SELECT DISTINCT ON (q.phone_e164) q.*
  FROM sms_tracking.delivery_log l
  JOIN sms_tracking.quarantine q USING (phone_e164)
 WHERE l.delivery_id IN {run_deliveries}
