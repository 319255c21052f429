-- Values offered by the deliveries list's provider and sender filters.
SELECT 'provider' AS field, provider AS value FROM sms_tracking.delivery GROUP BY provider
UNION ALL
SELECT 'sender', sender FROM sms_tracking.delivery WHERE sender IS NOT NULL GROUP BY sender
ORDER BY 1, 2;
