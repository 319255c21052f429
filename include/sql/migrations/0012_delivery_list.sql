-- The UI's deliveries list: a delivery with the KPIs of its summary and its state. The list and its
-- (capped) count read the same view; the index serves the default order (newest first) so a page of a
-- long list is read from the top instead of sorting every delivery (50,000 deliveries: 285 ms p95).
-- The view sms_tracking.delivery_list is defined in include/sql/views (rewritten.toml says why it left).
CREATE INDEX delivery_created ON sms_tracking.delivery (created_at DESC NULLS LAST, delivery_id DESC);
