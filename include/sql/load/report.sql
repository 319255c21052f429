-- Merge the staged reports of one object. An earlier version of the same object (same source and
-- uri, other checksum) is replaced: its reports are removed and their messages rebuilt.
--
-- Objects of one provider merge one after the other (a lock held until the object's load commits): the
-- earliest-arrival rule below must see every copy another load stored, or a later object that commits first
-- keeps counting as loaded the rows an earlier one then takes over (tests/integration/test_concurrent_loads.py).
-- Parsing and staging still run in parallel; providers are locked in name order, so two loads cannot deadlock.
SELECT pg_advisory_xact_lock(sms_tracking.load_lock(provider))
  FROM (SELECT DISTINCT provider FROM stage_report ORDER BY 1) p;

WITH superseded AS (
    UPDATE sms_tracking.source_object
       SET status = 'superseded'
     WHERE source = %(source)s AND uri = %(uri)s AND object_id <> %(object_id)s AND status = 'loaded'
 RETURNING object_id
), removed AS (
    DELETE FROM sms_tracking.report r USING superseded s
     WHERE r.object_id = s.object_id
 RETURNING r.provider, r.provider_message_id
)
INSERT INTO sms_tracking.pending_message (provider, provider_message_id, message_changed)
SELECT provider, provider_message_id, false FROM removed;

-- The object's own time (migration 0021): the latest date its reports carry.
UPDATE sms_tracking.source_object
   SET reported_until = (SELECT max(event_at) FROM stage_report)
 WHERE object_id = %(object_id)s;

-- Same natural key as a report already stored (the same callback in several files, the same file under two
-- names, a re-read API page): one row, the earliest arrival's -- the earliest received time, then the
-- smaller uri, then the first position (docs/reliability.md) -- whatever order or batches the objects are
-- loaded in. First the object's own copies of a key, the first position's, go in where no stored copy holds
-- the key (one sort of the staged rows, inserted in natural-key order). Most reports are new, and the
-- insert's own look-up of the key is then the only one: the stored copies are read for the few keys left.
CREATE TEMP TABLE load_report_inserted ON COMMIT DROP AS
WITH inserted AS (
    INSERT INTO sms_tracking.report (
        provider, provider_message_id, raw_status, raw_error, error_code, event_at, received_at, submitted_at,
        phone_raw, sender, segments, price, price_unit, raw_text, object_id, position, parse_warning)
    SELECT DISTINCT ON (provider, provider_message_id, raw_status, coalesce(error_code, ''),
                        coalesce(event_at, '-infinity'))
           provider, provider_message_id, raw_status, raw_error, error_code, event_at, received_at, submitted_at,
           phone_raw, sender, segments, price, price_unit, raw_text, object_id, position, parse_warning
      FROM stage_report
     ORDER BY provider, provider_message_id, raw_status, coalesce(error_code, ''), coalesce(event_at, '-infinity'),
              position
    ON CONFLICT (provider, provider_message_id, raw_status, coalesce(error_code, ''), coalesce(event_at, '-infinity'))
    DO NOTHING
    RETURNING provider, provider_message_id, raw_status, coalesce(error_code, '') AS error_code,
              coalesce(event_at, '-infinity') AS event_at
)
SELECT * FROM inserted;

-- The keys a stored copy holds: the object's first copy of each, and the stored copy it displaces when it
-- arrived earlier (one index look-up per key). A stored copy that a new object's earlier copy replaces moves
-- to that object; if its object was qualified already, its failure was counted there, and the new object's
-- qualification counts it again: the count it made is taken back here.
CREATE TEMP TABLE load_report_displaced ON COMMIT DROP AS
SELECT r.report_id, r.object_id, r.qualified, s.raw_error, s.received_at, s.submitted_at, s.phone_raw, s.sender,
       s.segments, s.price, s.price_unit, s.raw_text, s.position, s.parse_warning
  FROM (SELECT DISTINCT ON (s.provider, s.provider_message_id, s.raw_status, k.error_code, k.event_at) s.*
          FROM stage_report s
          JOIN (SELECT provider, provider_message_id, raw_status, coalesce(error_code, '') AS error_code,
                       coalesce(event_at, '-infinity') AS event_at
                  FROM stage_report
                EXCEPT
                SELECT provider, provider_message_id, raw_status, error_code, event_at
                  FROM load_report_inserted) k
            ON (k.provider, k.provider_message_id, k.raw_status, k.error_code, k.event_at)
               = (s.provider, s.provider_message_id, s.raw_status, coalesce(s.error_code, ''),
                  coalesce(s.event_at, '-infinity'))
         ORDER BY s.provider, s.provider_message_id, s.raw_status, k.error_code, k.event_at, s.position) s
 CROSS JOIN LATERAL (
        SELECT r.report_id, r.object_id, o.qualified_at IS NOT NULL AS qualified
          FROM sms_tracking.report r
          JOIN sms_tracking.source_object o ON o.object_id = r.object_id
         WHERE r.provider = s.provider AND r.provider_message_id = s.provider_message_id
           AND r.raw_status = s.raw_status AND coalesce(r.error_code, '') = coalesce(s.error_code, '')
           AND coalesce(r.event_at, '-infinity') = coalesce(s.event_at, '-infinity')
           AND (s.received_at, %(uri)s::text, s.position) < (r.received_at, o.uri, r.position)
         LIMIT 1) r;

WITH replaced AS (
    SELECT rq.provider, rq.qualification_status, rq.qualification_code
      FROM load_report_displaced d
      JOIN sms_tracking.report_qualified rq USING (report_id)
     WHERE d.qualified AND rq.outcome = 'failed'
)
UPDATE sms_tracking.qualification q
   SET occurrences = greatest(q.occurrences - c.n, 0)
  FROM (SELECT provider, qualification_status, qualification_code, count(*) AS n FROM replaced GROUP BY 1, 2, 3) c
 WHERE (q.provider, q.raw_status, q.error_code) = (c.provider, c.qualification_status, c.qualification_code);

-- The stored copy a replacement displaces becomes its object's duplicate: each object still reads
-- loaded + duplicate + rejected, and the report table holds as many rows as the objects loaded.
UPDATE sms_tracking.source_object o
   SET rows_loaded = o.rows_loaded - d.n, rows_duplicate = o.rows_duplicate + d.n
  FROM (SELECT object_id, count(*) AS n FROM load_report_displaced GROUP BY 1) d
 WHERE o.object_id = d.object_id;

-- The object's loaded reports, new or replacing a stored copy (the row count of this last statement), and
-- their messages queued for the build (a key queued twice is taken once: migration 0028). A message log's
-- object (send_log) queues every staged report's message as changed (migration 0032): send_log.sql writes
-- them even when their reports are all duplicates, and queues none itself.
CREATE TEMP TABLE load_report_loaded ON COMMIT DROP AS
WITH replaced AS (
    UPDATE sms_tracking.report r
       SET raw_error = d.raw_error, received_at = d.received_at, submitted_at = d.submitted_at,
           phone_raw = d.phone_raw, sender = d.sender, segments = d.segments, price = d.price,
           price_unit = d.price_unit, raw_text = d.raw_text, object_id = %(object_id)s, position = d.position,
           parse_warning = d.parse_warning
      FROM load_report_displaced d
     WHERE r.report_id = d.report_id
 RETURNING r.provider, r.provider_message_id
), loaded AS (
    SELECT provider, provider_message_id FROM load_report_inserted
     UNION ALL
    SELECT provider, provider_message_id FROM replaced
), queued AS (
    INSERT INTO sms_tracking.pending_message (provider, provider_message_id, message_changed)
    SELECT provider, provider_message_id, false FROM loaded
     UNION ALL
    SELECT provider, provider_message_id, true FROM stage_report WHERE %(send_log)s
)
SELECT provider, provider_message_id FROM loaded;
