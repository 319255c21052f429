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
INSERT INTO sms_tracking.pending_message (provider, provider_message_id)
SELECT DISTINCT provider, provider_message_id FROM removed ORDER BY 1, 2
ON CONFLICT DO NOTHING;

INSERT INTO sms_tracking.pending_message (provider, provider_message_id)
SELECT DISTINCT provider, provider_message_id FROM stage_report ORDER BY 1, 2
ON CONFLICT DO NOTHING;

-- Same natural key as a report already stored (the same callback in several files, the same file under two
-- names, a re-read API page): one row, the earliest arrival's -- the earliest received time, then the
-- smaller uri, then the first position (docs/reliability.md) -- whatever order or batches the objects are
-- loaded in. A stored copy that a new object's earlier copy replaces moves to that object; if its object
-- was qualified already, its failure was counted there, and the new object's qualification counts it
-- again: the count it made is taken back here. Rows go in natural-key order so that two loads of
-- overlapping reports lock index entries in the same order and cannot deadlock. The row count of this
-- last statement is the number of new or replaced reports.
CREATE TEMP TABLE load_report_earliest ON COMMIT DROP AS
SELECT DISTINCT ON (provider, provider_message_id, raw_status, coalesce(error_code, ''),
                    coalesce(event_at, '-infinity'))
       *
  FROM stage_report
 ORDER BY provider, provider_message_id, raw_status, coalesce(error_code, ''), coalesce(event_at, '-infinity'),
          position;

-- The object's own time (migration 0021): the latest date its reports carry.
UPDATE sms_tracking.source_object
   SET reported_until = (SELECT max(event_at) FROM stage_report)
 WHERE object_id = %(object_id)s;

-- The stored copies that an earlier copy of this object displaces, found once (one natural-key join).
CREATE TEMP TABLE load_report_displaced ON COMMIT DROP AS
SELECT r.report_id, r.object_id, o.qualified_at IS NOT NULL AS qualified
  FROM load_report_earliest s
  JOIN sms_tracking.report r
    ON (r.provider, r.provider_message_id, r.raw_status, coalesce(r.error_code, ''),
        coalesce(r.event_at, '-infinity'))
       = (s.provider, s.provider_message_id, s.raw_status, coalesce(s.error_code, ''),
          coalesce(s.event_at, '-infinity'))
  JOIN sms_tracking.source_object o ON o.object_id = r.object_id
 WHERE (s.received_at, %(uri)s::text, s.position) < (r.received_at, o.uri, r.position);

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

INSERT INTO sms_tracking.report AS r (
    provider, provider_message_id, raw_status, raw_error, error_code, event_at, received_at, submitted_at,
    phone_raw, sender, segments, price, price_unit, raw_text, object_id, position, parse_warning)
SELECT provider, provider_message_id, raw_status, raw_error, error_code, event_at, received_at, submitted_at,
       phone_raw, sender, segments, price, price_unit, raw_text, object_id, position, parse_warning
  FROM load_report_earliest
 ORDER BY provider, provider_message_id, raw_status, coalesce(error_code, ''), coalesce(event_at, '-infinity')
ON CONFLICT (provider, provider_message_id, raw_status, coalesce(error_code, ''), coalesce(event_at, '-infinity'))
DO UPDATE
   SET raw_error = excluded.raw_error, received_at = excluded.received_at, submitted_at = excluded.submitted_at,
       phone_raw = excluded.phone_raw, sender = excluded.sender, segments = excluded.segments,
       price = excluded.price, price_unit = excluded.price_unit, raw_text = excluded.raw_text,
       object_id = excluded.object_id, position = excluded.position, parse_warning = excluded.parse_warning
 WHERE (excluded.received_at, %(uri)s::text, excluded.position)
       < (r.received_at, (SELECT o.uri FROM sms_tracking.source_object o WHERE o.object_id = r.object_id),
          r.position);
