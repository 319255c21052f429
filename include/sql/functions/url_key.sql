-- How a URL is compared: a click names the URL it reached, the content may write it without scheme.
-- Rows already built keep the url_key they were built with (tracked_url.url_key is stored).
CREATE OR REPLACE FUNCTION sms_tracking.url_key(url text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT lower(regexp_replace(substring(s FROM '^[^/?#]*'), '^www\.', '', 'i')) || rtrim(coalesce(substring(s FROM '[/?#].*$'), ''), '/') FROM (SELECT regexp_replace(btrim(url), '^[A-Za-z][A-Za-z0-9+.-]*://', '') AS s) AS u $$;

COMMENT ON FUNCTION sms_tracking.url_key(text) IS
    'The form URLs are matched in: no scheme, no www., lower-case host, no trailing slash; path and query kept as written';
