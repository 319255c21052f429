-- How many log rows match, counted up to a cap so a filter over millions of rows stays fast.
SELECT count(*) AS total
  FROM (SELECT 1 FROM sms_tracking.delivery_log l WHERE {filters} LIMIT %(cap)s) x;
