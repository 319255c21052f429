-- How many deliveries match, counted up to a cap.
SELECT count(*) AS total
  FROM (SELECT 1 FROM sms_tracking.delivery_list d WHERE {filters} LIMIT %(cap)s) x;
