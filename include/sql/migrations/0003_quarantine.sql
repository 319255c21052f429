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

-- Adobe's "Exclusion causes", the view sms_tracking.exclusion_cause, is defined in include/sql/views.

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

-- sms_tracking.quarantine_apply, which applies the queued events to the quarantine and its history, is defined
-- in include/sql/functions/quarantine_apply.sql (created after the migrations; rewritten.toml says why it left).

-- A database that already holds data: read its inbound messages and delivery logs once.
INSERT INTO sms_tracking.pending_inbound (inbound_key)
SELECT inbound_key FROM sms_tracking.inbound_message;

INSERT INTO sms_tracking.pending_delivery (delivery_id)
SELECT DISTINCT delivery_id FROM sms_tracking.delivery_log
ON CONFLICT DO NOTHING;
