-- A batch at least as large as its table (a first load, a backfill) is written faster with the table's
-- secondary indexes built once afterwards than maintained row by row: 1M delivery-log rows with 8 indexes
-- took 32 s to insert, 5.5 s with the primary key only, and each index about 1.3 s to build. The build
-- steps and the loads (load/message.sql) call these around their largest inserts, in their own transaction:
-- an error restores the indexes.

-- Drop the table's secondary indexes (neither primary nor unique: ON CONFLICT needs those) and return their
-- definitions, read from the catalog so this follows the migrations; an empty array when the table holds
-- more rows than the batch, or when another session holds any lock on it. The table is then locked until
-- the transaction ends, so the lock is taken only if it is free at once: waiting for it would queue every
-- reader (UI, BI) behind the build.
CREATE OR REPLACE FUNCTION sms_tracking.defer_indexes(target regclass, batch bigint) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    present bigint;
    definitions text[];
    ix record;
BEGIN
    IF batch <= 0 THEN
        RETURN '{}';
    END IF;
    -- The table's rows, counted no further than the batch's size (statistics may not know a fresh load yet).
    EXECUTE format('SELECT count(*) FROM (SELECT FROM %s LIMIT %s) t', target, batch + 1) INTO present;
    IF present > batch THEN
        RETURN '{}';
    END IF;
    BEGIN
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT', target);
    EXCEPTION WHEN lock_not_available THEN
        RAISE NOTICE '% is in use: its indexes are maintained row by row for this batch', target;
        RETURN '{}';
    END;
    definitions := '{}';
    FOR ix IN SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
                FROM pg_index i
               WHERE i.indrelid = target AND NOT i.indisprimary AND NOT i.indisunique
               ORDER BY 1
    LOOP
        EXECUTE 'DROP INDEX ' || ix.name;
        definitions := definitions || ix.definition;
    END LOOP;
    RETURN definitions;
END $$;

-- Build again the indexes defer_indexes dropped.
CREATE OR REPLACE FUNCTION sms_tracking.restore_indexes(definitions text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    definition text;
BEGIN
    FOREACH definition IN ARRAY coalesce(definitions, '{}') LOOP
        EXECUTE definition;
    END LOOP;
END $$;
