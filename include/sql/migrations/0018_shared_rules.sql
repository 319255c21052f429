-- The success rate, one definition for the build and the UI (issue 15). Its current definition is
-- include/sql/functions/success_rate.sql; it is created here too because the view and index below need it
-- at migrate time (db.migrate).

-- The success rate: success (delivered or pending) over sent, 6 decimals, null when nothing was sent. The
-- build stores it in delivery_summary.success_rate (build/summary.sql); the UI's deliveries list (the view
-- below and its index) and the Summary tab's tile (ui/delivery.sql) compute it from the same row with it.
-- (The list used 4 decimals until now, the build 6.)
CREATE OR REPLACE FUNCTION sms_tracking.success_rate(success bigint, sent bigint) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT round(success::numeric / nullif(sent, 0), 6)
$$;

CREATE OR REPLACE VIEW sms_tracking.delivery_list AS
SELECT d.delivery_id, d.name, d.sender, d.provider, d.created_at, d.scheduled_at, d.is_proof,
       coalesce(s.sent, 0)      AS sent,
       coalesce(s.success, 0)   AS success,
       coalesce(s.delivered, 0) AS delivered,
       coalesce(s.failed, 0)    AS failed,
       coalesce(s.pending, 0)   AS pending,
       sms_tracking.success_rate(s.success, s.sent) AS success_rate,
       s.refreshed_at,
       CASE WHEN s.delivery_id IS NULL OR s.sent = 0 THEN 'not_sent'
            WHEN s.pending > 0 THEN 'in_progress'
            ELSE 'finished' END AS state
  FROM sms_tracking.delivery d
  LEFT JOIN sms_tracking.delivery_summary s USING (delivery_id);

-- The index of the list sorted by success rate (0013), on the function: the same expression as the view's.
DROP INDEX sms_tracking.delivery_summary_success_rate;
CREATE INDEX delivery_summary_success_rate
    ON sms_tracking.delivery_summary (sms_tracking.success_rate(success, sent) DESC, delivery_id DESC)
    INCLUDE (sent, success);
