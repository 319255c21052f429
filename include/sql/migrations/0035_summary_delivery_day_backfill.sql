-- The daily breakdowns read a day's messages through summary_delivery_day (include/sql/build/summary.sql:
-- each delivery's submit days, refreshed whenever the delivery is summarised). A delivery summarised before
-- migration 0004 created that table, and not since, has no rows there and would drop out of its days when
-- another delivery recomputes them: its days are recorded here, from one scan of the log.
INSERT INTO sms_tracking.summary_delivery_day (delivery_id, day)
SELECT DISTINCT delivery_id, (submitted_at AT TIME ZONE 'UTC')::date FROM sms_tracking.delivery_log
ON CONFLICT DO NOTHING;
