-- The numbers of a build's changed events that have anything but successes recorded (the replay queue of
-- include/sql/build/quarantine.sql) are found in this index alone: through quarantine_event_phone, each number
-- read every event of its history to find none, one random page each (an incremental build of 10,000 late
-- reports on a 10M-message history: 183,600 pages of its 314,600). Most events are successes, so the index
-- holds about one event in nine.
CREATE INDEX quarantine_event_error ON sms_tracking.quarantine_event (phone_e164) WHERE kind <> 'success';
