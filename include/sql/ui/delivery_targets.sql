-- Initial population of a delivery (target primary key: an index-only count).
SELECT count(*) AS targets FROM sms_tracking.target WHERE delivery_id = %(delivery_id)s;
