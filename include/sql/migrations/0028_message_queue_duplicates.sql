-- The message queue takes a key as often as loads queue it: a load appends its keys, and the build takes each
-- key once (include/sql/build/delivery_log.sql). With a primary key, every queued key was a look-up in a
-- unique index and a speculative insertion: 10 s of a 1M-message first load's 43 s of server time went to
-- queueing 2.5M keys for 1M messages (issue 19). Without one, two loads queueing the same messages no longer
-- wait for each other either. Dropping a constraint rewrites nothing.
ALTER TABLE sms_tracking.pending_message DROP CONSTRAINT pending_message_pkey;
