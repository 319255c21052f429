-- The send log a provider's message log writes (sources.yaml send_log, docs/sources.md#send_log): the
-- staged reports' messages, one delivery per (source, sender, UTC day), and their recipients as the target
-- list (or one per value of the source's send_log_field and day). Every choice below is the least of a total order, never "the latest file", so that loading the
-- objects in any order or batches gives the same tables (docs/reliability.md).

-- A message's row: of all its reports, one with a delivery key (Twilio writes no "from" on a message not sent
-- yet, scheduled or canceled: its delivery is then <source>::<day>), then the earliest submitted, then the
-- least of its other columns.
CREATE TEMP TABLE send_log_message ON COMMIT DROP AS
SELECT DISTINCT ON (m.provider, m.provider_message_id)
       m.*, m.delivery_id = %(source)s || '::' || right(m.delivery_id, 10) AS no_key
  FROM stage_message m
 ORDER BY m.provider, m.provider_message_id, m.delivery_id = %(source)s || '::' || right(m.delivery_id, 10),
          m.submitted_at, m.delivery_id, m.recipient_id,
          m.segments, coalesce(m.phone_raw, '');

-- The deliveries of those rows. created_at is the earliest submit time of their messages in any object (the
-- object with the smaller uri on a tie); the other columns follow from the id (source, sender, day).
INSERT INTO sms_tracking.delivery AS d (
    delivery_id, name, sender, content, provider, created_at, scheduled_at, is_proof, encoding, content_length,
    content_units, segments_per_message, segments_if_gsm7, non_gsm7_characters, tracked_urls, object_id)
SELECT s.delivery_id, s.name, s.sender, s.content, s.provider, f.created_at, s.scheduled_at, s.is_proof,
       s.encoding, s.content_length, s.content_units, s.segments_per_message, s.segments_if_gsm7,
       s.non_gsm7_characters, s.tracked_urls, s.object_id
  FROM stage_delivery s
  JOIN (SELECT delivery_id, min(submitted_at) AS created_at FROM send_log_message GROUP BY 1) f USING (delivery_id)
 ORDER BY s.delivery_id
ON CONFLICT (delivery_id) DO UPDATE
   SET created_at = excluded.created_at, object_id = excluded.object_id
 WHERE (excluded.created_at, %(uri)s::text)
       < (d.created_at, (SELECT o.uri FROM sms_tracking.source_object o WHERE o.object_id = d.object_id));

-- The rows that go in: a new message, or one that beats the row of a message-log source by the order above
-- (the object with the smaller uri on a tie).
-- A message of the sending system's own send log (the campaign landing) is never replaced.
CREATE TEMP TABLE send_log_winner ON COMMIT DROP AS
SELECT s.*, old.delivery_id AS old_delivery_id
  FROM send_log_message s
  LEFT JOIN sms_tracking.message old USING (provider, provider_message_id)
  LEFT JOIN sms_tracking.source_object o ON o.object_id = old.object_id
 WHERE old.provider_message_id IS NULL
    OR (o.kind = 'reports'
        AND (s.no_key, s.submitted_at, s.delivery_id, s.recipient_id, s.segments, coalesce(s.phone_raw, ''),
             %(uri)s::text)
            < (old.delivery_id = o.source || '::' || right(old.delivery_id, 10), old.submitted_at, old.delivery_id, old.recipient_id, old.segments,
               coalesce(old.phone_raw, ''), o.uri));

-- The deliveries whose messages or recipients change: those the rows go to and those they leave.
CREATE TEMP TABLE send_log_delivery ON COMMIT DROP AS
SELECT delivery_id FROM send_log_message
 UNION
SELECT old_delivery_id FROM send_log_winner WHERE old_delivery_id IS NOT NULL;

INSERT INTO sms_tracking.pending_delivery (delivery_id)
SELECT delivery_id FROM send_log_delivery ORDER BY delivery_id
ON CONFLICT DO NOTHING;

INSERT INTO sms_tracking.message AS m (
    provider, provider_message_id, delivery_id, recipient_id, phone_raw, phone_e164, submitted_at, segments,
    object_id)
SELECT provider, provider_message_id, delivery_id, recipient_id, phone_raw, phone_e164, submitted_at, segments,
       object_id
  FROM send_log_winner
 ORDER BY provider, provider_message_id
ON CONFLICT (provider, provider_message_id) DO UPDATE
   SET delivery_id = excluded.delivery_id, recipient_id = excluded.recipient_id,
       phone_raw = excluded.phone_raw, phone_e164 = excluded.phone_e164,
       submitted_at = excluded.submitted_at, segments = excluded.segments, object_id = excluded.object_id;

-- The target list of these deliveries: the numbers their messages went to, rebuilt from the send log. The
-- provider sent them all, so nothing is prepared (no exclusion): to_deliver is the population.
DELETE FROM sms_tracking.target t USING send_log_delivery x WHERE t.delivery_id = x.delivery_id;

INSERT INTO sms_tracking.target (delivery_id, recipient_id, phone_raw, phone_e164, object_id)
SELECT DISTINCT ON (m.delivery_id, m.recipient_id) m.delivery_id, m.recipient_id, m.phone_raw, m.phone_e164,
       m.object_id
  FROM sms_tracking.message m
  JOIN send_log_delivery x USING (delivery_id)
 ORDER BY m.delivery_id, m.recipient_id, m.submitted_at, m.provider_message_id;
