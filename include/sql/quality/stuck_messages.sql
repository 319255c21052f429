-- Messages still without a final status, submitted within the look-back window, with their age. The
-- whole delivery log is read (through its partial index on open messages), not only what the run
-- touched: a stuck message is one that no new report touches.
SELECT provider, provider_message_id, delivery_id, status, submitted_at, last_report_at,
       round((extract(epoch FROM {now} - submitted_at) / 3600)::numeric, 1)::float8 AS hours_without_final_status
  FROM sms_tracking.delivery_log
 WHERE NOT is_final
   AND submitted_at >= {now} - make_interval(days => {stuck_lookback_days})
