-- Failure reasons offered by the delivery-log filter (the qualification table is small).
SELECT DISTINCT failure_reason FROM sms_tracking.qualification WHERE failure_reason IS NOT NULL
UNION
SELECT %(unknown_reason)s::text
ORDER BY 1;
