-- How many numbers per status match the list's other filters (the status filter itself is left out).
SELECT q.status, count(*) AS total FROM sms_tracking.quarantine q WHERE {filters} GROUP BY q.status;
