-- The deliveries of a landing object, read by the validation of the run that loaded it (the delivery suite,
-- scoped to "object_id IN {objects}", as migration 0015 indexed the other loaded tables): without it each
-- run scanned the delivery table once per object in scope (2,300 pages for 2 objects on a 10M-message
-- history, growing with it). One scan of a small table builds it.
CREATE INDEX delivery_object ON sms_tracking.delivery (object_id);
