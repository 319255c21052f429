-- Which of the UI's optional tables exist yet (later migrations add them).
SELECT name
  FROM unnest(%(names)s::text[]) AS name
 WHERE to_regclass('sms_tracking.' || name) IS NOT NULL;
