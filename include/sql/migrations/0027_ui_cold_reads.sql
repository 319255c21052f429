-- Indexes that answer the UI's pages without reading table rows, so a page read with a cold cache waits
-- for a few index pages instead of one random page per row (issue 19: UI p95 on a 10M-message history).

-- The deliveries list walks the sort's index down to the page (OFFSET); with the columns its filter and
-- order read (is_proof; the name that lower(name) is computed from), the walk reads no delivery row.
DROP INDEX sms_tracking.delivery_created;
CREATE INDEX delivery_created ON sms_tracking.delivery (created_at DESC NULLS LAST, delivery_id DESC) INCLUDE (is_proof);
DROP INDEX sms_tracking.delivery_created_asc;
CREATE INDEX delivery_created_asc ON sms_tracking.delivery (created_at, delivery_id) INCLUDE (is_proof);
DROP INDEX sms_tracking.delivery_name_desc;
CREATE INDEX delivery_name_desc ON sms_tracking.delivery (lower(name) DESC NULLS LAST, delivery_id DESC)
    INCLUDE (name, is_proof);
DROP INDEX sms_tracking.delivery_name_asc;
CREATE INDEX delivery_name_asc ON sms_tracking.delivery (lower(name), delivery_id) INCLUDE (name, is_proof);

-- The audit tab's landing objects of a delivery (include/sql/ui/audit_objects.sql): a delivery's messages
-- and clicks arrived among every other delivery's, one per table page; their objects are now read from
-- the index, which still serves every look-up by delivery it served before.
DROP INDEX sms_tracking.message_delivery;
CREATE INDEX message_delivery ON sms_tracking.message (delivery_id, object_id);
DROP INDEX sms_tracking.click_delivery;
CREATE INDEX click_delivery ON sms_tracking.click (delivery_id, object_id);
-- ... and the object of each report its log rows name, from the primary key (a report is one random page
-- of the report table, and two of them rarely share one).
ALTER TABLE sms_tracking.report
    DROP CONSTRAINT report_pkey,
    ADD CONSTRAINT report_pkey PRIMARY KEY (report_id) INCLUDE (object_id);
