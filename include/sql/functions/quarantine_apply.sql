-- Apply the events not applied yet (pending_quarantine_event), per number in event-time order (ties: the
-- kind order below, then the event key), and write the transitions to the history and the last state to
-- the quarantine table. A number whose new events all come after its applied ones continues from its
-- stored state; any other (a late event, a changed or removed one) is replayed from its recorded state
-- before the earliest time its events changed (pending_quarantine_replay.since; null: from its first
-- event) and its history rewritten from there. Callers hold the build lock (sms_tracking.build_lock()).
-- Mirrored by sms_tracking.quarantine (Python); tests check that both agree.
CREATE OR REPLACE FUNCTION sms_tracking.quarantine_apply(
    error_threshold integer, significant_error_period interval,
    with_errors_release interval, mailbox_full_release interval)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    ev        record;
    phone     text;
    -- A number's state (status, error_count and the last_error_at, last_error_reason, first_error_at of
    -- the count) before the event, after it, and the Valid state a release, success or START returns to.
    st        sms_tracking.quarantine%ROWTYPE;
    nx        sms_tracking.quarantine%ROWTYPE;
    valid     sms_tracking.quarantine%ROWTYPE;
    due       timestamptz;
    due_rule  text;
    rule_of   text;
    rule_for  text;
    seq       integer := 0;
    -- The order of events at the same instant (then the event key): the replay's, and its checkpoint's.
    kinds     text[] := ARRAY['release', 'success', 'soft', 'hard', 'optout', 'stop', 'start', 'set'];
BEGIN
    valid.status := 'Valid';
    valid.error_count := 0;
    -- A replayed number's checkpoint: the n-th of its stored transitions (ordered by at, id), the state it
    -- recorded, and the events replayed from it (from events_from; after the event ck_pos, ck_key too).
    CREATE TEMP TABLE IF NOT EXISTS quarantine_apply_phone (
        phone_e164 text PRIMARY KEY, full_replay boolean NOT NULL, since timestamptz, ck_n bigint,
        checkpoint sms_tracking.quarantine, events_from timestamptz, ck_pos integer, ck_key text) ON COMMIT DROP;
    CREATE TEMP TABLE IF NOT EXISTS quarantine_apply_transition (
        seq integer, phone_e164 text, at timestamptz, from_status text, to_status text, error_count integer,
        last_error_at timestamptz, last_error_reason text, first_error_at timestamptz, event_kind text,
        reason text, cause_kind text, rule text, event_key text, delivery_id text, provider text,
        provider_message_id text, report_id bigint, inbound_key text, event_rule text, actor text) ON COMMIT DROP;
    TRUNCATE quarantine_apply_phone, quarantine_apply_transition;

    -- Continue from the stored state only when no applied event sorts at or after the first new one.
    -- Counted by a join, so that the planner may read the event table once when most numbers have new events
    -- (a first load: 68,000 index lookups, one per number, took 10 s of a 1M build) and look up the few of
    -- an increment.
    INSERT INTO quarantine_apply_phone (phone_e164, full_replay, since)
    WITH n AS (
        SELECT phone_e164, min(at) AS first_new, count(*) AS new_events
          FROM sms_tracking.pending_quarantine_event GROUP BY phone_e164
    ), later AS (
        SELECT n.phone_e164, count(*) AS events
          FROM n JOIN sms_tracking.quarantine_event e ON e.phone_e164 = n.phone_e164 AND e.at >= n.first_new
         GROUP BY n.phone_e164
    )
    SELECT coalesce(n.phone_e164, r.phone_e164),
           r.phone_e164 IS NOT NULL OR coalesce(later.events, 0) > n.new_events,
           CASE WHEN r.phone_e164 IS NULL THEN n.first_new WHEN r.since IS NOT NULL THEN least(r.since, n.first_new) END
      FROM n
      LEFT JOIN later ON later.phone_e164 = n.phone_e164
      FULL JOIN sms_tracking.pending_quarantine_replay r ON r.phone_e164 = n.phone_e164;
    ANALYZE quarantine_apply_phone;

    -- The stored transitions of the replayed numbers, numbered in order.
    CREATE TEMP TABLE IF NOT EXISTS quarantine_apply_stored ON COMMIT DROP AS
    SELECT h.*, 0::bigint AS n FROM sms_tracking.quarantine_history h WITH NO DATA;
    TRUNCATE quarantine_apply_stored;
    INSERT INTO quarantine_apply_stored
    SELECT h.*, row_number() OVER (PARTITION BY h.phone_e164 ORDER BY h.at, h.id)
      FROM sms_tracking.quarantine_history h
      JOIN quarantine_apply_phone p ON p.phone_e164 = h.phone_e164 AND p.full_replay;

    -- A number replayed since a time restarts from its last transition before that time that an event made
    -- (a rule release is stamped at its due time by the first event at or after it, which may come later):
    -- its events before that time are unchanged, and an event that changes no state records no transition,
    -- so the state then is the one that transition recorded. Only a With errors state may change without a
    -- transition of its own events (the release rule): its replay starts right after that transition's
    -- event, any other at the time. A number without such a transition (its oldest ones may have expired:
    -- a retention, docs/scaling.md), or whose transition lacks its error fields (written with a count
    -- before migration 0033), is replayed from its first event.
    UPDATE quarantine_apply_phone p
       SET ck_n = c.n,
           checkpoint = ROW(c.phone_e164, c.to_status, c.error_count, c.last_error_at, c.last_error_reason,
                            c.first_error_at, NULL, NULL)::sms_tracking.quarantine,
           events_from = CASE WHEN c.to_status = 'With errors' THEN c.at ELSE p.since END,
           ck_pos = CASE WHEN c.to_status = 'With errors' THEN array_position(kinds, c.event_kind) END,
           ck_key = CASE WHEN c.to_status = 'With errors' THEN c.event_key END
      FROM (SELECT DISTINCT ON (s.phone_e164) s.*
              FROM quarantine_apply_stored s
              JOIN quarantine_apply_phone p ON p.phone_e164 = s.phone_e164
             WHERE s.at < p.since AND s.cause_kind <> 'rule' AND s.event_key IS NOT NULL
             ORDER BY s.phone_e164, s.n DESC) c
     WHERE p.phone_e164 = c.phone_e164 AND (c.error_count = 0 OR c.last_error_at IS NOT NULL);

    FOR ev IN
        SELECT e.event_key, e.phone_e164, e.at, e.kind, e.reason, e.set_status, e.cause_kind, e.delivery_id,
               e.provider, e.provider_message_id, e.report_id, e.inbound_key, e.rule, e.actor, q AS stored,
               e.checkpoint
          FROM (SELECT e.*, p.full_replay, NULL::sms_tracking.quarantine AS checkpoint
                  FROM sms_tracking.pending_quarantine_event n
                  JOIN sms_tracking.quarantine_event e USING (event_key)
                  JOIN quarantine_apply_phone p ON p.phone_e164 = e.phone_e164 AND NOT p.full_replay
                UNION ALL
                SELECT e.*, p.full_replay, p.checkpoint
                  FROM quarantine_apply_phone p
                  JOIN sms_tracking.quarantine_event e ON e.phone_e164 = p.phone_e164
                   AND e.at >= coalesce(p.events_from, '-infinity')
                 WHERE p.full_replay
                   AND (p.ck_key IS NULL
                        OR (e.at, array_position(kinds, e.kind), e.event_key COLLATE "C")
                           > (p.events_from, p.ck_pos, p.ck_key COLLATE "C"))) e
          LEFT JOIN sms_tracking.quarantine q ON q.phone_e164 = e.phone_e164 AND NOT e.full_replay
         ORDER BY e.phone_e164, e.at,
                  array_position(kinds, e.kind),
                  e.event_key COLLATE "C"
    LOOP
        IF phone IS DISTINCT FROM ev.phone_e164 THEN
            phone := ev.phone_e164;
            -- A full replay, or a number never stored, starts Valid.
            st := coalesce(ev.checkpoint, ev.stored, valid);
        END IF;

        -- The cleanup's release rule, applied here too so that the result does not depend on when the
        -- cleanup ran: a release event releases at its own time, any other event at the due time.
        IF st.status = 'With errors' THEN
            -- The period is the rule of the reason of the last counted error (sms_tracking.failure_reason),
            -- read again only when that reason changes (most numbers meet one reason).
            IF rule_for IS DISTINCT FROM st.last_error_reason OR rule_of IS NULL THEN
                SELECT coalesce(max(r.release_rule) FILTER (WHERE r.release_rule = 'mailbox_full_release'),
                                'with_errors_release')
                  INTO rule_of FROM sms_tracking.failure_reason r WHERE r.reason = st.last_error_reason;
                rule_for := st.last_error_reason;
            END IF;
            due_rule := rule_of;
            due := st.last_error_at + CASE due_rule WHEN 'mailbox_full_release' THEN mailbox_full_release
                                           ELSE with_errors_release END;
            IF due <= ev.at THEN
                seq := seq + 1;
                INSERT INTO quarantine_apply_transition VALUES (
                    seq, phone, CASE WHEN ev.kind = 'release' THEN ev.at ELSE due END, st.status, 'Valid', 0,
                    NULL, NULL, NULL, 'release', st.last_error_reason, 'rule', due_rule,
                    CASE WHEN ev.kind = 'release' THEN ev.event_key END,
                    CASE WHEN ev.kind = 'release' THEN ev.delivery_id END,
                    CASE WHEN ev.kind = 'release' THEN ev.provider END,
                    CASE WHEN ev.kind = 'release' THEN ev.provider_message_id END,
                    CASE WHEN ev.kind = 'release' THEN ev.report_id END,
                    CASE WHEN ev.kind = 'release' THEN ev.inbound_key END,
                    CASE WHEN ev.kind = 'release' THEN ev.rule END,
                    CASE WHEN ev.kind = 'release' THEN ev.actor END);
                st := valid;
            END IF;
        END IF;

        nx := st;
        IF ev.kind = 'set' THEN
            IF ev.set_status IN ('Valid', 'Allowlisted') THEN
                nx := valid;
            END IF;
            nx.status := ev.set_status;
        ELSIF ev.kind IN ('optout', 'stop') THEN
            nx.status := 'Denylisted';
        ELSIF ev.kind = 'start' THEN
            IF st.status = 'Denylisted' THEN
                nx := valid;
            END IF;
        ELSIF st.status IN ('Valid', 'With errors') THEN
            IF ev.kind = 'success' THEN
                nx := valid;
            ELSIF ev.kind = 'hard'
               OR (ev.kind = 'soft'
                   AND (st.last_error_at IS NULL OR ev.at - st.last_error_at >= significant_error_period)) THEN
                -- A counted error: a hard one quarantines at once, soft ones at the threshold.
                nx.error_count := st.error_count + 1;
                nx.status := CASE WHEN ev.kind = 'hard' OR nx.error_count >= error_threshold
                                  THEN 'Quarantine' ELSE 'With errors' END;
                nx.last_error_at := ev.at;
                nx.last_error_reason := ev.reason;
                nx.first_error_at := coalesce(st.first_error_at, ev.at);
            END IF;
        END IF;

        IF nx.status <> st.status OR nx.error_count <> st.error_count THEN
            seq := seq + 1;
            INSERT INTO quarantine_apply_transition VALUES (
                seq, phone, ev.at, st.status, nx.status, nx.error_count, nx.last_error_at, nx.last_error_reason,
                nx.first_error_at, ev.kind, ev.reason, ev.cause_kind, NULL, ev.event_key, ev.delivery_id, ev.provider,
                ev.provider_message_id, ev.report_id, ev.inbound_key, ev.rule, ev.actor);
        END IF;
        st := nx;
    END LOOP;

    -- The transitions as history rows, numbered per number in order. The loop carried each event's columns,
    -- so no join reads the event table again (it hashed all of it: on a first 1M load, 975,000 events for
    -- the 80,000 transitions).
    CREATE TEMP TABLE IF NOT EXISTS quarantine_apply_row ON COMMIT DROP AS
    SELECT t.seq, t.phone_e164, t.from_status, t.to_status, t.error_count, t.cause_kind, t.event_kind, t.reason,
           t.delivery_id, t.provider, t.provider_message_id, t.report_id, t.inbound_key,
           coalesce(t.rule, t.event_rule) AS rule, t.actor, t.event_key, t.at, t.last_error_at, t.last_error_reason,
           t.first_error_at, 0::bigint AS n
      FROM quarantine_apply_transition t
      WITH NO DATA;
    TRUNCATE quarantine_apply_row;
    INSERT INTO quarantine_apply_row
    SELECT t.seq, t.phone_e164, t.from_status, t.to_status, t.error_count, t.cause_kind, t.event_kind, t.reason,
           t.delivery_id, t.provider, t.provider_message_id, t.report_id, t.inbound_key,
           coalesce(t.rule, t.event_rule), t.actor, t.event_key, t.at, t.last_error_at, t.last_error_reason,
           t.first_error_at, coalesce(p.ck_n, 0) + row_number() OVER (PARTITION BY t.phone_e164 ORDER BY t.seq)
      FROM quarantine_apply_transition t
      JOIN quarantine_apply_phone p ON p.phone_e164 = t.phone_e164;

    -- A replayed number keeps the stored transitions its replay reproduces, from its first one up to the
    -- first that differs: their ids stay, so the next steps see what changed (new ids, and the removed
    -- rows in pending_history_removed) rather than every transition of the number again. A late report
    -- replays its number, and replaying a number that reached many deliveries re-summarised them all.

    CREATE TEMP TABLE IF NOT EXISTS quarantine_apply_kept (phone_e164 text PRIMARY KEY, kept bigint)
        ON COMMIT DROP;
    TRUNCATE quarantine_apply_kept;
    INSERT INTO quarantine_apply_kept (phone_e164, kept)
    SELECT coalesce(s.phone_e164, r.phone_e164),
           coalesce(min(coalesce(s.n, r.n)) FILTER (
                        WHERE (s.from_status, s.to_status, s.error_count, s.cause_kind, s.event_kind, s.reason,
                               s.delivery_id, s.provider, s.provider_message_id, s.report_id, s.inbound_key, s.rule,
                               s.actor, s.event_key, s.at)
                              IS DISTINCT FROM
                              (r.from_status, r.to_status, r.error_count, r.cause_kind, r.event_kind, r.reason,
                               r.delivery_id, r.provider, r.provider_message_id, r.report_id, r.inbound_key, r.rule,
                               r.actor, r.event_key, r.at)) - 1,
                    max(coalesce(s.n, r.n)))
      FROM (SELECT s.* FROM quarantine_apply_stored s
              JOIN quarantine_apply_phone p ON p.phone_e164 = s.phone_e164
             WHERE s.n > coalesce(p.ck_n, 0)) s
      FULL JOIN (SELECT r.* FROM quarantine_apply_row r
                   JOIN quarantine_apply_phone p ON p.phone_e164 = r.phone_e164 AND p.full_replay) r
        ON r.phone_e164 = s.phone_e164 AND r.n = s.n
     GROUP BY 1;
    INSERT INTO quarantine_apply_kept (phone_e164, kept)  -- nothing stored or replayed after the checkpoint
    SELECT phone_e164, ck_n FROM quarantine_apply_phone WHERE ck_n IS NOT NULL
    ON CONFLICT DO NOTHING;

    -- A kept row written before migration 0033 (a count, no error fields) takes the state its replay has
    -- just computed: the number's next replay restarts from it instead of from its first event again.
    UPDATE sms_tracking.quarantine_history h
       SET last_error_at = r.last_error_at, last_error_reason = r.last_error_reason,
           first_error_at = r.first_error_at
      FROM quarantine_apply_stored s
      JOIN quarantine_apply_kept k ON k.phone_e164 = s.phone_e164 AND s.n <= k.kept
      JOIN quarantine_apply_row r ON r.phone_e164 = s.phone_e164 AND r.n = s.n
     WHERE h.id = s.id AND h.error_count > 0 AND h.last_error_at IS NULL;

    WITH removed AS (
        DELETE FROM sms_tracking.quarantine_history h
         USING quarantine_apply_stored s
          LEFT JOIN quarantine_apply_kept k ON k.phone_e164 = s.phone_e164
         WHERE h.id = s.id AND s.n > coalesce(k.kept, 0)
        RETURNING h.phone_e164, h.to_status, h.cause_kind, h.delivery_id, h.at
    )
    INSERT INTO sms_tracking.pending_history_removed (phone_e164, to_status, cause_kind, delivery_id, at)
    SELECT phone_e164, to_status, cause_kind, delivery_id, at FROM removed;
    DELETE FROM sms_tracking.quarantine q
     USING quarantine_apply_phone p WHERE q.phone_e164 = p.phone_e164 AND p.full_replay;

    INSERT INTO sms_tracking.quarantine_history (
        phone_e164, from_status, to_status, error_count, cause_kind, event_kind, reason, delivery_id, provider,
        provider_message_id, report_id, inbound_key, rule, actor, event_key, at, last_error_at, last_error_reason,
        first_error_at)
    SELECT r.phone_e164, r.from_status, r.to_status, r.error_count, r.cause_kind, r.event_kind, r.reason,
           r.delivery_id, r.provider, r.provider_message_id, r.report_id, r.inbound_key, r.rule, r.actor,
           r.event_key, r.at, r.last_error_at, r.last_error_reason, r.first_error_at
      FROM quarantine_apply_row r
      LEFT JOIN quarantine_apply_kept k ON k.phone_e164 = r.phone_e164
     WHERE r.n > coalesce(k.kept, 0)
     ORDER BY r.seq;

    INSERT INTO sms_tracking.quarantine AS q (
        phone_e164, status, error_count, last_error_at, last_error_reason, first_error_at, updated_at, cause)
    SELECT DISTINCT ON (t.phone_e164)
           t.phone_e164, t.to_status, t.error_count, t.last_error_at, t.last_error_reason, t.first_error_at, t.at,
           CASE t.cause_kind
                WHEN 'report' THEN coalesce(t.reason, 'Delivered') || ': ' || t.provider || ' message '
                                   || t.provider_message_id || ' of delivery ' || t.delivery_id
                WHEN 'inbound' THEN t.reason || ' received (' || t.inbound_key || ')'
                WHEN 'rule' THEN 'released by rule ' || t.rule
                ELSE 'set to ' || t.to_status || ' by ' || coalesce(t.actor, 'a user')
                     || coalesce(': ' || t.reason, '')
           END
      FROM (SELECT t.seq, t.phone_e164, t.to_status, t.error_count, t.last_error_at, t.last_error_reason,
                   t.first_error_at, t.at, t.cause_kind, t.reason, t.provider, t.provider_message_id, t.delivery_id,
                   t.inbound_key, t.rule, t.actor
              FROM quarantine_apply_transition t
            UNION ALL  -- a number replayed from its checkpoint that made no transition since: the checkpoint's
            SELECT 0, s.phone_e164, s.to_status, s.error_count, s.last_error_at, s.last_error_reason,
                   s.first_error_at, s.at, s.cause_kind, s.reason, s.provider, s.provider_message_id,
                   s.delivery_id, s.inbound_key, s.rule, s.actor
              FROM quarantine_apply_phone p
              JOIN quarantine_apply_stored s ON s.phone_e164 = p.phone_e164 AND s.n = p.ck_n) t
     ORDER BY t.phone_e164, t.seq DESC
    ON CONFLICT (phone_e164) DO UPDATE
       SET status = excluded.status, error_count = excluded.error_count, last_error_at = excluded.last_error_at,
           last_error_reason = excluded.last_error_reason, first_error_at = excluded.first_error_at,
           updated_at = excluded.updated_at, cause = excluded.cause;

    DELETE FROM sms_tracking.pending_quarantine_event n USING quarantine_apply_phone p
     WHERE n.phone_e164 = p.phone_e164;
    DELETE FROM sms_tracking.pending_quarantine_replay r USING quarantine_apply_phone p
     WHERE r.phone_e164 = p.phone_e164;
    RETURN seq;
END;
$$;
