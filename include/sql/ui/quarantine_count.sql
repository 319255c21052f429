-- How many quarantine rows match, counted up to a cap.
SELECT count(*) AS total FROM (SELECT 1 FROM sms_tracking.quarantine q WHERE {filters} LIMIT %(cap)s) x;
