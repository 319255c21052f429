-- The success rate: success (delivered or pending) over sent, 6 decimals, null when nothing was sent. The
-- build stores it in delivery_summary.success_rate (build/summary.sql); the UI's deliveries list (the view
-- delivery_list in include/sql/views, and its index, migration 0018) and the Summary tab's tile
-- (ui/delivery.sql) compute it with it.
-- Changing the body does not rebuild the index delivery_summary_success_rate: a migration must REINDEX it.
CREATE OR REPLACE FUNCTION sms_tracking.success_rate(success bigint, sent bigint) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT round(success::numeric / nullif(sent, 0), 6) $$;
