-- Watermarks of the sources pulled from a provider API (docs/pull.md): how far each source has been
-- read AND loaded. The pull reads from the watermark less the source's look-back; the DAG's last task
-- moves it forward, only once every page of the window is loaded, and never back.
CREATE TABLE sms_tracking.source_watermark (
    source     text PRIMARY KEY,
    watermark  timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    run_id     text
);
