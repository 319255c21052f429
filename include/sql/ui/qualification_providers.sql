-- Providers offered by the qualification filter.
SELECT DISTINCT provider FROM sms_tracking.qualification ORDER BY provider;
