-- First and last click of a delivery, to choose the timeline's bucket.
SELECT min(clicked_at) AS first_at, max(clicked_at) AS last_at
  FROM sms_tracking.click WHERE delivery_id = %(delivery_id)s;
