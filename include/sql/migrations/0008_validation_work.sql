-- The rows a validation checks are computed once into a table of this schema, which the Great
-- Expectations checks then read (each check is a query of its own: re-running the suite's query for each
-- one made validation the slowest task of the build). The validate task drops its tables when it ends;
-- it drops those a killed task left behind when they are older than a day.
CREATE SCHEMA IF NOT EXISTS sms_tracking_work;
COMMENT ON SCHEMA sms_tracking_work IS
    'Scratch tables of running validations (sms_tracking.quality); not for BI: they come and go.';
