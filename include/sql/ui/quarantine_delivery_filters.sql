EXISTS (
    -- The delivery filter of the quarantine list, added only when set (so the planner can start from the
    -- history's delivery index): the number's latest status change came from a report of that delivery.
    SELECT 1 FROM sms_tracking.quarantine_history h
     WHERE h.delivery_id = %(delivery)s AND h.phone_e164 = q.phone_e164 AND h.to_status = q.status
       AND h.from_status <> h.to_status
       AND NOT EXISTS (SELECT 1 FROM sms_tracking.quarantine_history l
                        WHERE l.phone_e164 = h.phone_e164 AND l.from_status <> l.to_status
                          AND (l.at, l.id) > (h.at, h.id)))
