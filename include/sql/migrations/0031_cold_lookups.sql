-- Two look-ups of an incremental build that read a page per row of a table growing with the history (10,000
-- late reports on a 10M-message history, cold):
-- - the summary's STOPs from the numbers its deliveries reached (include/sql/build/summary.sql) read every
--   transition of those numbers to keep the few STOPs: 14,700 pages, nearly the whole history table. This
--   index holds the STOPs alone, with their time: 118 pages.
-- - validation's audit-event suite (sms_tracking.quality.suites: the run's events) scanned every event of
--   the history: 21,300 pages.
-- Each index is built by one scan of its table (0.2 s and 0.3 s on the 10M-message history); no table is
-- rewritten.
CREATE INDEX quarantine_history_stop ON sms_tracking.quarantine_history (phone_e164, at)
 WHERE cause_kind = 'inbound' AND to_status = 'Denylisted' AND from_status <> 'Denylisted';
CREATE INDEX audit_event_run ON sms_tracking.audit_event (run_id);
