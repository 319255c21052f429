-- The numbers a bulk action on the filtered list would change (those not in its status already), capped.
SELECT q.phone_e164 FROM sms_tracking.quarantine q
 WHERE {filters} AND q.status <> %(to_status)s
 ORDER BY q.phone_e164
 LIMIT %(cap)s;
