-- Quarantine and denylist per phone number (E.164), exclusions at delivery preparation, the send list,
-- re-qualification and the audit journal (docs/quarantine.md, docs/exclusions.md).

-- The state of each number that ever changed status: Adobe's quarantine list ("Non deliverables and
-- addresses"). A number with no row is Valid.
CREATE TABLE sms_tracking.quarantine (
    phone_e164        text PRIMARY KEY,
    status            text        NOT NULL
                      CHECK (status IN ('Valid', 'With errors', 'Quarantine', 'Denylisted', 'Allowlisted')),
    error_count       integer     NOT NULL,
    last_error_at     timestamptz,
    last_error_reason text,
    first_error_at    timestamptz,
    updated_at        timestamptz NOT NULL,
    cause             text        NOT NULL
);
CREATE INDEX quarantine_status ON sms_tracking.quarantine (status);

-- The state machine's input: one row per event about a number (a final delivery-log outcome, a STOP or
-- START message, a cleanup release, a manual change). The state of a number is the replay of its events
-- in event-time order; each event is applied once (pending_quarantine_event lists those not applied yet),
-- and a late or changed event replays its number from the start.
CREATE TABLE sms_tracking.quarantine_event (
    event_key           text PRIMARY KEY,
    phone_e164          text        NOT NULL,
    at                  timestamptz NOT NULL,
    kind                text        NOT NULL
                        CHECK (kind IN ('release', 'success', 'soft', 'hard', 'optout', 'stop', 'start', 'set')),
    reason              text,
    set_status          text        CHECK (set_status IN ('Valid', 'Quarantine', 'Denylisted', 'Allowlisted')),
    cause_kind          text        NOT NULL CHECK (cause_kind IN ('report', 'inbound', 'rule', 'user')),
    delivery_id         text,
    provider            text,
    provider_message_id text,
    report_id           bigint,
    inbound_key         text,
    rule                text,
    actor               text,
    CHECK ((kind = 'set') = (set_status IS NOT NULL))
);
CREATE INDEX quarantine_event_phone ON sms_tracking.quarantine_event (phone_e164, at);
CREATE INDEX quarantine_event_delivery ON sms_tracking.quarantine_event (delivery_id) WHERE delivery_id IS NOT NULL;

-- Every change of a number's status or error counter, with its cause.
CREATE TABLE sms_tracking.quarantine_history (
    id                  bigserial PRIMARY KEY,
    phone_e164          text        NOT NULL,
    from_status         text        NOT NULL,
    to_status           text        NOT NULL,
    error_count         integer     NOT NULL,
    cause_kind          text        NOT NULL CHECK (cause_kind IN ('delivery', 'report', 'rule', 'inbound', 'user')),
    event_kind          text        NOT NULL,
    reason              text,
    delivery_id         text,
    provider            text,
    provider_message_id text,
    report_id           bigint,
    inbound_key         text,
    rule                text,
    actor               text,
    event_key           text,
    at                  timestamptz NOT NULL
);
CREATE INDEX quarantine_history_phone ON sms_tracking.quarantine_history (phone_e164, at);
CREATE INDEX quarantine_history_delivery ON sms_tracking.quarantine_history (delivery_id) WHERE delivery_id IS NOT NULL;
CREATE INDEX quarantine_history_rule ON sms_tracking.quarantine_history (at) WHERE cause_kind = 'rule';

-- Work queues: events recorded but not applied yet, inbound messages to read for keywords, numbers to
-- replay from their first event (an event changed or vanished), target lists to prepare and send lists
-- to export.
CREATE TABLE sms_tracking.pending_quarantine_event (
    event_key  text PRIMARY KEY,
    phone_e164 text        NOT NULL,
    at         timestamptz NOT NULL
);
CREATE TABLE sms_tracking.pending_inbound (
    inbound_key text PRIMARY KEY
);
CREATE TABLE sms_tracking.pending_quarantine_replay (
    phone_e164 text PRIMARY KEY
);
CREATE TABLE sms_tracking.pending_preparation (
    delivery_id text PRIMARY KEY
);
CREATE TABLE sms_tracking.pending_export (
    delivery_id text PRIMARY KEY
);

-- Adobe's exclusion logs: each target recipient removed at preparation, and why. Decided once.
CREATE TABLE sms_tracking.exclusion (
    delivery_id  text        NOT NULL,
    recipient_id text        NOT NULL,
    phone_raw    text,
    phone_e164   text,
    reason       text        NOT NULL CHECK (reason IN ('Address empty', 'Invalid number', 'Duplicate', 'Quarantined',
                                                        'Denylisted', 'Control group')),
    prepared_at  timestamptz NOT NULL,
    run_id       text,
    PRIMARY KEY (delivery_id, recipient_id)
);
CREATE INDEX exclusion_phone ON sms_tracking.exclusion (delivery_id, phone_e164);

-- The final send list of each delivery; `flag` marks a proof recipient sent despite its status.
CREATE TABLE sms_tracking.send_list (
    delivery_id  text        NOT NULL,
    recipient_id text        NOT NULL,
    phone_e164   text        NOT NULL,
    flag         text,
    prepared_at  timestamptz NOT NULL,
    run_id       text,
    PRIMARY KEY (delivery_id, recipient_id),
    UNIQUE (delivery_id, phone_e164)
);

-- Adobe's "Exclusion causes": recipients excluded per delivery and reason.
CREATE VIEW sms_tracking.exclusion_cause AS
SELECT delivery_id, reason, count(*) AS recipients
  FROM sms_tracking.exclusion
 GROUP BY delivery_id, reason;

-- The delivery journal (Adobe's Audit tab) and the pipeline's own journal (delivery_id null).
CREATE TABLE sms_tracking.audit_event (
    delivery_id text,
    level       text        NOT NULL CHECK (level IN ('info', 'warning', 'error')),
    event       text        NOT NULL,
    message     text        NOT NULL,
    details     jsonb,
    dag_id      text,
    run_id      text,
    task_id     text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_event_delivery ON sms_tracking.audit_event (delivery_id, at);
CREATE INDEX audit_event_at ON sms_tracking.audit_event (at);

-- The messages a re-qualification run re-queued, with their delivery-log and quarantine values before it.
CREATE TABLE sms_tracking.requalify_message (
    run_id                text NOT NULL,
    provider              text NOT NULL,
    provider_message_id   text NOT NULL,
    delivery_id           text NOT NULL,
    phone_e164            text,
    status_before         text NOT NULL,
    failure_type_before   text,
    failure_reason_before text,
    quarantine_before     text,
    PRIMARY KEY (run_id, provider, provider_message_id)
);

-- Apply the events not applied yet (pending_quarantine_event), per number in event-time order (ties: the
-- kind order below, then the event key), and write the transitions to the history and the last state to
-- the quarantine table. A number whose new events all come after its applied ones continues from its
-- stored state; any other (a late event, a changed or removed one) is replayed from its first event and
-- its history rewritten. Callers hold the build lock (97866). Mirrored by sms_tracking.quarantine
-- (Python); tests check that both agree.
CREATE FUNCTION sms_tracking.quarantine_apply(
    error_threshold integer, significant_error_period interval,
    with_errors_release interval, mailbox_full_release interval)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    ev        record;
    phone     text;
    st_status text;
    st_count  integer;
    st_last   timestamptz;
    st_reason text;
    st_first  timestamptz;
    nx_status text;
    nx_count  integer;
    nx_last   timestamptz;
    nx_reason text;
    nx_first  timestamptz;
    due       timestamptz;
    due_rule  text;
    seq       integer := 0;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS quarantine_apply_phone (
        phone_e164 text PRIMARY KEY, full_replay boolean NOT NULL) ON COMMIT DROP;
    CREATE TEMP TABLE IF NOT EXISTS quarantine_apply_transition (
        seq integer, phone_e164 text, at timestamptz, from_status text, to_status text, error_count integer,
        last_error_at timestamptz, last_error_reason text, first_error_at timestamptz, event_kind text,
        reason text, cause_kind text, rule text, event_key text) ON COMMIT DROP;
    TRUNCATE quarantine_apply_phone, quarantine_apply_transition;

    -- Continue from the stored state only when no applied event sorts at or after the first new one.
    INSERT INTO quarantine_apply_phone (phone_e164, full_replay)
    SELECT coalesce(n.phone_e164, r.phone_e164),
           r.phone_e164 IS NOT NULL
           OR (SELECT count(*) FROM sms_tracking.quarantine_event e
                WHERE e.phone_e164 = n.phone_e164 AND e.at >= n.first_new) > n.new_events
      FROM (SELECT phone_e164, min(at) AS first_new, count(*) AS new_events
              FROM sms_tracking.pending_quarantine_event GROUP BY phone_e164) n
      FULL JOIN sms_tracking.pending_quarantine_replay r ON r.phone_e164 = n.phone_e164;
    ANALYZE quarantine_apply_phone;

    FOR ev IN
        SELECT e.event_key, e.phone_e164, e.at, e.kind, e.reason, e.set_status, e.cause_kind,
               q.status AS q_status, q.error_count AS q_count, q.last_error_at AS q_last,
               q.last_error_reason AS q_reason, q.first_error_at AS q_first
          FROM (SELECT e.*, p.full_replay
                  FROM sms_tracking.pending_quarantine_event n
                  JOIN sms_tracking.quarantine_event e USING (event_key)
                  JOIN quarantine_apply_phone p ON p.phone_e164 = e.phone_e164 AND NOT p.full_replay
                UNION ALL
                SELECT e.*, p.full_replay
                  FROM quarantine_apply_phone p
                  JOIN sms_tracking.quarantine_event e ON e.phone_e164 = p.phone_e164
                 WHERE p.full_replay) e
          LEFT JOIN sms_tracking.quarantine q ON q.phone_e164 = e.phone_e164 AND NOT e.full_replay
         ORDER BY e.phone_e164, e.at,
                  array_position(ARRAY['release', 'success', 'soft', 'hard', 'optout', 'stop', 'start', 'set'], e.kind),
                  e.event_key COLLATE "C"
    LOOP
        IF phone IS DISTINCT FROM ev.phone_e164 THEN
            phone := ev.phone_e164;
            st_status := coalesce(ev.q_status, 'Valid');
            st_count := coalesce(ev.q_count, 0);
            st_last := ev.q_last;
            st_reason := ev.q_reason;
            st_first := ev.q_first;
        END IF;

        -- The cleanup's release rule, applied here too so that the result does not depend on when the
        -- cleanup ran: a release event releases at its own time, any other event at the due time.
        IF st_status = 'With errors' THEN
            IF st_reason = 'Mailbox full' THEN
                due := st_last + mailbox_full_release;
                due_rule := 'mailbox_full_release';
            ELSE
                due := st_last + with_errors_release;
                due_rule := 'with_errors_release';
            END IF;
            IF due <= ev.at THEN
                seq := seq + 1;
                INSERT INTO quarantine_apply_transition VALUES (
                    seq, phone, CASE WHEN ev.kind = 'release' THEN ev.at ELSE due END, st_status, 'Valid', 0,
                    NULL, NULL, NULL, 'release', st_reason, 'rule', due_rule,
                    CASE WHEN ev.kind = 'release' THEN ev.event_key END);
                st_status := 'Valid';
                st_count := 0;
                st_last := NULL;
                st_reason := NULL;
                st_first := NULL;
            END IF;
        END IF;

        nx_status := st_status;
        nx_count := st_count;
        nx_last := st_last;
        nx_reason := st_reason;
        nx_first := st_first;
        IF ev.kind = 'set' THEN
            nx_status := ev.set_status;
            IF ev.set_status IN ('Valid', 'Allowlisted') THEN
                nx_count := 0; nx_last := NULL; nx_reason := NULL; nx_first := NULL;
            END IF;
        ELSIF ev.kind IN ('optout', 'stop') THEN
            nx_status := 'Denylisted';
        ELSIF ev.kind = 'start' THEN
            IF st_status = 'Denylisted' THEN
                nx_status := 'Valid'; nx_count := 0; nx_last := NULL; nx_reason := NULL; nx_first := NULL;
            END IF;
        ELSIF st_status IN ('Valid', 'With errors') THEN
            IF ev.kind = 'success' THEN
                nx_status := 'Valid'; nx_count := 0; nx_last := NULL; nx_reason := NULL; nx_first := NULL;
            ELSIF ev.kind = 'hard' THEN
                nx_status := 'Quarantine';
                nx_count := st_count + 1;
                nx_last := ev.at;
                nx_reason := ev.reason;
                nx_first := coalesce(st_first, ev.at);
            ELSIF ev.kind = 'soft' AND (st_last IS NULL OR ev.at - st_last >= significant_error_period) THEN
                nx_count := st_count + 1;
                nx_status := CASE WHEN nx_count >= error_threshold THEN 'Quarantine' ELSE 'With errors' END;
                nx_last := ev.at;
                nx_reason := ev.reason;
                nx_first := coalesce(st_first, ev.at);
            END IF;
        END IF;

        IF nx_status <> st_status OR nx_count <> st_count THEN
            seq := seq + 1;
            INSERT INTO quarantine_apply_transition VALUES (
                seq, phone, ev.at, st_status, nx_status, nx_count, nx_last, nx_reason, nx_first, ev.kind,
                ev.reason, ev.cause_kind, NULL, ev.event_key);
        END IF;
        st_status := nx_status;
        st_count := nx_count;
        st_last := nx_last;
        st_reason := nx_reason;
        st_first := nx_first;
    END LOOP;

    DELETE FROM sms_tracking.quarantine_history h
     USING quarantine_apply_phone p WHERE h.phone_e164 = p.phone_e164 AND p.full_replay;
    DELETE FROM sms_tracking.quarantine q
     USING quarantine_apply_phone p WHERE q.phone_e164 = p.phone_e164 AND p.full_replay;

    INSERT INTO sms_tracking.quarantine_history (
        phone_e164, from_status, to_status, error_count, cause_kind, event_kind, reason, delivery_id, provider,
        provider_message_id, report_id, inbound_key, rule, actor, event_key, at)
    SELECT t.phone_e164, t.from_status, t.to_status, t.error_count, t.cause_kind, t.event_kind, t.reason,
           e.delivery_id, e.provider, e.provider_message_id, e.report_id, e.inbound_key, coalesce(t.rule, e.rule),
           e.actor, t.event_key, t.at
      FROM quarantine_apply_transition t
      LEFT JOIN sms_tracking.quarantine_event e ON e.event_key = t.event_key
     ORDER BY t.seq;

    INSERT INTO sms_tracking.quarantine AS q (
        phone_e164, status, error_count, last_error_at, last_error_reason, first_error_at, updated_at, cause)
    SELECT DISTINCT ON (t.phone_e164)
           t.phone_e164, t.to_status, t.error_count, t.last_error_at, t.last_error_reason, t.first_error_at, t.at,
           CASE t.cause_kind
                WHEN 'report' THEN coalesce(t.reason, 'Delivered') || ': ' || e.provider || ' message '
                                   || e.provider_message_id || ' of delivery ' || e.delivery_id
                WHEN 'inbound' THEN t.reason || ' received (' || e.inbound_key || ')'
                WHEN 'rule' THEN 'released by rule ' || t.rule
                ELSE 'set to ' || t.to_status || ' by ' || coalesce(e.actor, 'a user')
                     || coalesce(': ' || e.reason, '')
           END
      FROM quarantine_apply_transition t
      LEFT JOIN sms_tracking.quarantine_event e ON e.event_key = t.event_key
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

-- A database that already holds data: read its inbound messages and delivery logs once.
INSERT INTO sms_tracking.pending_inbound (inbound_key)
SELECT inbound_key FROM sms_tracking.inbound_message;

INSERT INTO sms_tracking.pending_delivery (delivery_id)
SELECT DISTINCT delivery_id FROM sms_tracking.delivery_log
ON CONFLICT DO NOTHING;
