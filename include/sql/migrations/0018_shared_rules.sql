-- The success rate, one definition for the build and the UI (issue 15). Its current definition is
-- include/sql/functions/success_rate.sql; it is created here too because the index below needs it at
-- migrate time (db.migrate).

-- The success rate: success (delivered or pending) over sent, 6 decimals, null when nothing was sent. The
-- build stores it in delivery_summary.success_rate (build/summary.sql); the UI's deliveries list (the view
-- delivery_list and the index below) and the Summary tab's tile (ui/delivery.sql) compute it with it.
-- (The list used 4 decimals until now, the build 6.)
CREATE OR REPLACE FUNCTION sms_tracking.success_rate(success bigint, sent bigint) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT round(success::numeric / nullif(sent, 0), 6)
$$;

-- The index of the list sorted by success rate (0013), on the function: the same expression as the view's.
DROP INDEX sms_tracking.delivery_summary_success_rate;
CREATE INDEX delivery_summary_success_rate
    ON sms_tracking.delivery_summary (sms_tracking.success_rate(success, sent) DESC, delivery_id DESC)
    INCLUDE (sent, success);
