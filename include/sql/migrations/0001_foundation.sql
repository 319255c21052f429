-- Foundation schema: landing objects, the send log, provider reports, rejects, qualification,
-- the delivery log and the per-delivery summary. Applied once, in a transaction, by db.migrate().

CREATE SCHEMA IF NOT EXISTS sms_tracking;

-- Every object read from the landing location or a provider API page: the pipeline audit.
CREATE TABLE sms_tracking.source_object (
    object_id      bigserial PRIMARY KEY,
    source         text        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('deliveries', 'targets', 'sends', 'reports', 'clicks', 'inbound')),
    uri            text        NOT NULL,
    checksum       text        NOT NULL,
    size_bytes     bigint      NOT NULL,
    status         text        NOT NULL CHECK (status IN ('loaded', 'rejected', 'superseded')),
    rows_read      integer     NOT NULL DEFAULT 0,
    rows_loaded    integer     NOT NULL DEFAULT 0,
    rows_duplicate integer     NOT NULL DEFAULT 0,
    rows_rejected  integer     NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL,
    dag_id         text,
    run_id         text,
    task_id        text,
    qualified_at   timestamptz,
    UNIQUE (source, uri, checksum)
);
CREATE INDEX source_object_uri ON sms_tracking.source_object (source, uri);

CREATE TABLE sms_tracking.reject (
    object_id   bigint      NOT NULL REFERENCES sms_tracking.source_object ON DELETE CASCADE,
    source      text        NOT NULL,
    uri         text        NOT NULL,
    position    integer     NOT NULL,
    raw_text    text        NOT NULL,
    reason      text        NOT NULL,
    PRIMARY KEY (object_id, position)
);

CREATE TABLE sms_tracking.delivery (
    delivery_id  text PRIMARY KEY,
    name         text        NOT NULL,
    sender       text,
    content      text        NOT NULL,
    provider     text        NOT NULL,
    created_at   timestamptz NOT NULL,
    scheduled_at timestamptz,
    is_proof     boolean     NOT NULL DEFAULT false,
    object_id    bigint      NOT NULL
);

CREATE TABLE sms_tracking.target (
    delivery_id  text    NOT NULL,
    recipient_id text    NOT NULL,
    phone_raw    text,
    phone_e164   text,
    object_id    bigint  NOT NULL,
    PRIMARY KEY (delivery_id, recipient_id)
);

-- The send log: one row per message handed to a provider.
CREATE TABLE sms_tracking.message (
    provider            text        NOT NULL,
    provider_message_id text        NOT NULL,
    delivery_id         text        NOT NULL,
    recipient_id        text        NOT NULL,
    phone_raw           text,
    phone_e164          text,
    submitted_at        timestamptz NOT NULL,
    segments            integer     NOT NULL DEFAULT 1,
    object_id           bigint      NOT NULL,
    PRIMARY KEY (provider, provider_message_id)
);
CREATE INDEX message_delivery ON sms_tracking.message (delivery_id);

-- Provider delivery reports, normalised but in the provider's words; deduplicated on their natural key.
CREATE TABLE sms_tracking.report (
    report_id           bigserial PRIMARY KEY,
    provider            text        NOT NULL,
    provider_message_id text        NOT NULL,
    raw_status          text        NOT NULL,
    raw_error           text,
    error_code          text,
    event_at            timestamptz,
    received_at         timestamptz NOT NULL,
    submitted_at        timestamptz,
    phone_raw           text,
    sender              text,
    segments            integer,
    price               numeric(12, 5),
    price_unit          text,
    raw_text            text        NOT NULL,
    object_id           bigint      NOT NULL,
    position            integer     NOT NULL
);
CREATE UNIQUE INDEX report_natural_key ON sms_tracking.report
    (provider, provider_message_id, raw_status, coalesce(error_code, ''), coalesce(event_at, '-infinity'));
CREATE INDEX report_object ON sms_tracking.report (object_id);

CREATE TABLE sms_tracking.inbound_message (
    inbound_key         text PRIMARY KEY,
    provider            text        NOT NULL,
    provider_message_id text,
    phone_raw           text        NOT NULL,
    phone_e164          text,
    recipient           text,
    text                text        NOT NULL,
    received_at         timestamptz,
    object_id           bigint      NOT NULL,
    position            integer     NOT NULL
);

CREATE TABLE sms_tracking.click (
    click_key      text PRIMARY KEY,
    delivery_id    text        NOT NULL,
    recipient_id   text,
    tracking_token text,
    url            text        NOT NULL,
    clicked_at     timestamptz NOT NULL,
    user_agent     text,
    method         text        NOT NULL DEFAULT 'GET',
    object_id      bigint      NOT NULL,
    position       integer     NOT NULL
);
CREATE INDEX click_delivery ON sms_tracking.click (delivery_id);

-- Adobe's delivery-log qualification: (provider, status, error code) -> outcome, type, reason.
-- '*' is a wildcard; the most specific row wins (see docs/qualification.md).
CREATE TABLE sms_tracking.qualification (
    provider       text    NOT NULL,
    raw_status     text    NOT NULL,
    error_code     text    NOT NULL,
    outcome        text    NOT NULL CHECK (outcome IN ('delivered', 'failed', 'pending')),
    is_final       boolean NOT NULL,
    failure_type   text    CHECK (failure_type IN ('Hard', 'Soft', 'Ignored')),
    failure_reason text,
    description    text,
    state          text    NOT NULL DEFAULT 'keep' CHECK (state IN ('to_qualify', 'keep', 'ignore')),
    origin         text    NOT NULL DEFAULT 'seed' CHECK (origin IN ('seed', 'auto', 'user')),
    seed_version   text,
    first_text     text,
    occurrences    bigint  NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, raw_status, error_code),
    CHECK ((outcome = 'failed') = (failure_type IS NOT NULL))
);

-- Work queues filled by loads and drained by the build: the build's work grows with new data only.
CREATE TABLE sms_tracking.pending_message (
    provider            text NOT NULL,
    provider_message_id text NOT NULL,
    PRIMARY KEY (provider, provider_message_id)
);
CREATE TABLE sms_tracking.pending_delivery (
    delivery_id text PRIMARY KEY
);

-- One row per message sent, with the status its reports give under final-status precedence.
CREATE TABLE sms_tracking.delivery_log (
    provider            text        NOT NULL,
    provider_message_id text        NOT NULL,
    delivery_id         text        NOT NULL,
    recipient_id        text        NOT NULL,
    phone_e164          text,
    status              text        NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    is_final            boolean     NOT NULL,
    failure_type        text        CHECK (failure_type IN ('Hard', 'Soft', 'Ignored')),
    failure_reason      text,
    raw_status          text,
    raw_error           text,
    error_code          text,
    submitted_at        timestamptz NOT NULL,
    done_at             timestamptz,
    last_report_at      timestamptz,
    report_count        integer     NOT NULL,
    segments            integer     NOT NULL,
    price               numeric(12, 5),
    price_unit          text,
    report_id           bigint,
    PRIMARY KEY (provider, provider_message_id)
);
CREATE INDEX delivery_log_delivery ON sms_tracking.delivery_log (delivery_id, status);
CREATE INDEX delivery_log_phone ON sms_tracking.delivery_log (phone_e164);

CREATE TABLE sms_tracking.delivery_summary (
    delivery_id      text PRIMARY KEY,
    is_proof         boolean     NOT NULL,
    sent             integer     NOT NULL,
    delivered        integer     NOT NULL,
    failed           integer     NOT NULL,
    pending          integer     NOT NULL,
    success          integer     NOT NULL,
    hard             integer     NOT NULL,
    soft             integer     NOT NULL,
    ignored          integer     NOT NULL,
    segments         integer     NOT NULL,
    cost             numeric(14, 5),
    first_submit_at  timestamptz,
    last_report_at   timestamptz,
    refreshed_at     timestamptz NOT NULL,
    refreshed_by_run text
);

-- Each report with its qualification: the view sms_tracking.report_qualified, defined in migration 0019
-- (rewritten.toml says why it left).
