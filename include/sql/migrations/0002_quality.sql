-- Data-quality results of the build (docs/quality.md): one row per expectation per validation run, and
-- the source objects each run validated, so every object is validated once and a retry sees the same rows.

-- One row per expectation checked (or skipped) by a validation run; a retry of the run replaces its rows.
CREATE TABLE sms_tracking.validation_result (
    result_id         bigserial PRIMARY KEY,
    run_id            text        NOT NULL,
    suite             text        NOT NULL,
    table_name        text        NOT NULL,
    expectation       text        NOT NULL,
    expectation_type  text        NOT NULL,
    column_name       text,
    description       text        NOT NULL,
    success           boolean,
    critical          boolean     NOT NULL,
    element_count     bigint,
    observed_value    jsonb,
    unexpected_count  bigint,
    unexpected_sample jsonb,
    validated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, suite, expectation)
);
COMMENT ON COLUMN sms_tracking.validation_result.expectation IS
    'check name, unique within its suite: <suite>.<expectation> is the id include/config/quality.yaml uses';
COMMENT ON COLUMN sms_tracking.validation_result.success IS 'null when skipped (table missing)';
CREATE INDEX validation_result_latest ON sms_tracking.validation_result (validated_at DESC);
CREATE INDEX validation_result_failed ON sms_tracking.validation_result (suite, expectation, validated_at DESC)
    WHERE NOT success;

-- The objects a validation run took as its scope: the objects not validated by an earlier run.
CREATE TABLE sms_tracking.validated_object (
    object_id    bigint      PRIMARY KEY REFERENCES sms_tracking.source_object ON DELETE CASCADE,
    run_id       text        NOT NULL,
    validated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX validated_object_run ON sms_tracking.validated_object (run_id);

-- The stuck-message check reads the open messages only.
CREATE INDEX delivery_log_open ON sms_tracking.delivery_log (submitted_at) WHERE NOT is_final;

-- The delivery-log scope of a run: deliveries whose summary it refreshed.
CREATE INDEX delivery_summary_run ON sms_tracking.delivery_summary (refreshed_by_run);
