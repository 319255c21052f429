-- Every delivery's indicators (docs/kpis.md), proofs included: what sms_tracking_bi.delivery_kpi and
-- sms_tracking_bi.proof_delivery show, each on its side of is_proof, with these column comments.
CREATE OR REPLACE VIEW sms_tracking.delivery_indicator AS
SELECT s.delivery_id, d.name, d.provider, d.sender, d.created_at, d.scheduled_at, d.encoding,
       d.segments_per_message, s.initial_population, s.excluded, s.to_deliver, s.processed, s.sent, s.success,
       s.delivered, s.pending, s.failed, s.hard, s.soft, s.ignored, s.success_rate, s.delivery_rate,
       s.error_rate, s.new_quarantines, s.opt_outs, s.total_clicks, s.total_clicks_human, s.unique_clickers,
       s.unique_clickers_human, s.opt_out_clicks, s.opt_out_clicks_human, s.click_through_rate,
       s.click_through_rate_raw, s.segments, s.cost, s.cost_unit, s.latency_p50_s, s.latency_p95_s,
       s.latency_max_s, s.first_submit_at, s.last_submit_at, s.last_report_at, s.refreshed_at,
       s.refreshed_by_run, s.cancelled
  FROM sms_tracking.delivery_summary s
  LEFT JOIN sms_tracking.delivery d USING (delivery_id);
