"""The floors of issue 19: the pipeline's work done by the simplest SQL on ideal input, to set beside a target.

A floor is what the same work costs with nothing but its core, no bookkeeping: no rejects, no idempotent
merges, no queues, no audit. When a target is missed, its floor says how far a better implementation could go
on this machine (issue 19: "show its measured floor ... and what it would take"). Each function runs in a
child process of bench/run.py (``TASKS``) and is measured like a task.

- ingest: each CSV file COPYed into a typed table (the server parses the columns), each report file COPYed
  raw into a one-column table and parsed by one ``INSERT .. SELECT`` (fields cut with ``split_part``, no
  regular expression) into one typed report table;
- build: one statement per output on the ingest floor's tables: the delivery log (each message's latest report,
  ``DISTINCT ON``), the per-delivery summary, the exclusions (targets not sent), clicks per delivery and URL,
  failures per number;
- validation: each check of the run's suites as a plain count over the rows it checks, one statement per suite.
"""

from __future__ import annotations

from typing import Any

CSV_TABLES = {
    "deliveries": "delivery_id text, name text, sender text, content text, provider text, created_at timestamptz, "
    "scheduled_at timestamptz, is_proof boolean",
    "targets": "delivery_id text, recipient_id text, phone text",
    "sends": "delivery_id text, recipient_id text, phone text, provider text, provider_message_id text, "
    "submitted_at timestamptz, segments integer",
    "clicks": "delivery_id text, recipient_id text, tracking_token text, url text, clicked_at timestamptz, "
    "user_agent text, method text",
    "inbound": "provider text, provider_message_id text, phone text, recipient text, text text, "
    "received_at timestamptz",
}
"""The landing's CSV files as typed tables (their headers' columns, in order)."""
REPORTS = "provider text, provider_message_id text, status text, error_code text, event_at timestamptz"
DONE_IS_DATE = "length(done) = 10 AND ltrim(done, '0123456789') = ''"
"""An SMPP done date (YYMMDDhhmm), checked by length and digits before ``to_timestamp`` reads it."""
PARSE = {
    # Fields cut with split_part/position, not regular expressions (Postgres' regex engine cost 182 s of server CPU
    # at 1M, more than the pipeline's whole ingest); a date is checked by length and digits before it is read.
    "reports/smpp_main": rf"""SELECT 'smpp', split_part(substr(line, 4), ' ', 1), stat, err,
               to_timestamp(done, 'YYMMDDHH24MI')
          FROM (SELECT line, split_part(split_part(line, ' done date:', 2), ' ', 1) AS done,
                       split_part(split_part(line, ' stat:', 2), ' ', 1) AS stat,
                       split_part(split_part(line, ' err:', 2), ' ', 1) AS err
                  FROM floor_raw WHERE line LIKE 'id:%') p
         WHERE {DONE_IS_DATE} AND stat <> '' AND err <> ''""",
    "reports/twilio_callbacks": rf"""SELECT 'twilio', nullif(split_part(split_part(f, '&MessageSid=', 2), '&', 1), ''),
               nullif(split_part(split_part(f, '&MessageStatus=', 2), '&', 1), ''),
               nullif(split_part(split_part(f, '&ErrorCode=', 2), '&', 1), ''),
               CASE WHEN {DONE_IS_DATE}
                    THEN to_timestamp(done, 'YYMMDDHH24MI') END
          FROM (SELECT f, split_part(split_part(f, '&RawDlrDoneDate=', 2), '&', 1) AS done
                  FROM (SELECT '&' || line AS f FROM floor_raw WHERE line LIKE 'MessageSid=%') l) p""",
    "reports/twilio_api": r"""SELECT 'twilio', split_part(split_part(line, '"sid": "', 2), '"', 1),
               split_part(split_part(line, '"status": "', 2), '"', 1),
               nullif(nullif(split_part(split_part(line, '"error_code": ', 2), ',', 1), 'null'), ''),
               CASE WHEN updated LIKE '___, __ ___ ____ __:__:__ +0000'
                    THEN to_timestamp(substr(updated, 6, 20), 'DD Mon YYYY HH24:MI:SS') END
          FROM (SELECT line, split_part(split_part(line, '"date_updated": "', 2), '"', 1) AS updated
                  FROM floor_raw WHERE line LIKE '{%}') p""",
}
"""Each report kind's lines, parsed by one SELECT over the raw lines of one file."""
BUILD = (
    """CREATE TABLE floor_log AS SELECT DISTINCT ON (s.provider, s.provider_message_id) s.*, r.status,
        r.error_code, r.event_at FROM floor_sends s LEFT JOIN floor_report r
        ON (r.provider, r.provider_message_id) = (s.provider, s.provider_message_id)
        ORDER BY s.provider, s.provider_message_id, r.event_at DESC NULLS LAST""",
    """CREATE TABLE floor_summary AS SELECT delivery_id, count(*) AS sent,
        count(*) FILTER (WHERE status IN ('delivered', 'DELIVRD')) AS delivered,
        count(*) FILTER (WHERE status IN ('failed', 'undelivered', 'UNDELIV', 'REJECTD', 'EXPIRED')) AS failed,
        sum(segments) AS segments FROM floor_log GROUP BY delivery_id""",
    """CREATE TABLE floor_exclusion AS SELECT t.* FROM floor_targets t
        WHERE NOT EXISTS (SELECT FROM floor_sends s WHERE (s.delivery_id, s.recipient_id) = (t.delivery_id,
        t.recipient_id))""",
    """CREATE TABLE floor_tracking AS SELECT delivery_id, url, count(*) AS clicks,
        count(DISTINCT recipient_id) AS clickers FROM floor_clicks GROUP BY delivery_id, url""",
    """CREATE TABLE floor_quarantine AS SELECT phone, count(*) AS errors, max(event_at) AS last_error_at
        FROM floor_log WHERE status IN ('failed', 'undelivered', 'UNDELIV', 'REJECTD', 'EXPIRED') GROUP BY phone""",
)
"""The build's outputs, one statement each, on the ingest floor's tables."""


def create_tables(dsn: str) -> None:
    """The ingest floor's typed tables (unlogged, like the bare COPY's), empty."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        for kind, columns in CSV_TABLES.items():
            conn.execute(f"CREATE UNLOGGED TABLE floor_{kind} ({columns})")  # type: ignore[arg-type]
        conn.execute(f"CREATE UNLOGGED TABLE floor_report ({REPORTS})")  # type: ignore[arg-type]


def floor_ingest(args: dict[str, Any]) -> dict[str, Any]:
    """COPY each CSV file into its typed table; COPY each report file raw, then one INSERT .. SELECT parses it."""
    import psycopg

    rows = 0
    with psycopg.connect(args["dsn"]) as conn:
        conn.execute("CREATE TEMP TABLE floor_raw (line text)")
        for kind, path in args["files"]:
            with open(path, "rb") as stream:
                if kind in CSV_TABLES:
                    sql = f"COPY floor_{kind} FROM STDIN WITH (FORMAT csv, HEADER)"
                else:
                    conn.execute("TRUNCATE floor_raw")
                    sql = "COPY floor_raw (line) FROM STDIN WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"
                with conn.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[arg-type]
                    while block := stream.read(1 << 20):
                        copy.write(block)
            if kind not in CSV_TABLES:
                rows += conn.execute(f"INSERT INTO floor_report {PARSE[kind]}").rowcount  # type: ignore[arg-type]
            conn.commit()
    return {"files": len(args["files"]), "reports": rows}


def floor_build(args: dict[str, Any]) -> dict[str, Any]:
    """One statement per output of the build, on the ingest floor's tables, once their statistics are taken (as the
    pipeline's prepare step takes the loaded tables'): a fast ingest leaves autovacuum no time to, and the plans
    on unanalysed tables were three times slower."""
    import psycopg

    with psycopg.connect(args["dsn"]) as conn:
        conn.execute("SET work_mem = '64MB'")  # the pipeline's sessions' setting (SMS_TRACKING_WORK_MEM)
        conn.execute("ANALYZE floor_sends, floor_report, floor_targets, floor_clicks")
        for statement in BUILD:
            conn.execute(statement)  # type: ignore[arg-type]
        rows = conn.execute("SELECT count(*) FROM floor_log").fetchone()
    return {"log_rows": rows[0] if rows else 0}


def floor_validation(args: dict[str, Any]) -> dict[str, Any]:
    """The run's validation checks, each as a plain count of its unexpected rows: per suite, one statement over the
    rows the suite checks (its ``where`` or its query file, in the run's scope: the same rows, computed columns
    included), with no GX and no scratch table. As the real checks, a uniqueness check counts the distinct hashes
    of the keys (equal counts: no duplicate), unless a unique index of the table proves the key (no two stored
    rows can share it)."""
    from datetime import UTC, datetime

    import psycopg

    from sms_tracking import db
    from sms_tracking.config import load_sources
    from sms_tracking.quality.config import load_config, runtime_params
    from sms_tracking.quality.rows import literal, render_sql, sql_values, unique_index
    from sms_tracking.quality.suites import SUITES, resolve_kwargs
    from sms_tracking.settings import get_settings

    now = datetime.now(UTC)
    config = load_config()
    values = sql_values(config, (source.name for source in load_sources()))
    checks = 0
    with psycopg.connect(args["dsn"]) as conn:
        for name, value in db.session_settings().items():
            conn.execute("SELECT set_config(%s, %s, false)", (name, str(value)))
        reasons = [row[0] for row in conn.execute("SELECT reason FROM sms_tracking.failure_reason ORDER BY reason")]
        params = runtime_params(config, now, get_settings().unknown_failure_reason, reasons)
        for suite in SUITES:
            counts = ["count(*)"]
            for check in suite.checks:
                if config.severity(f"{suite.name}.{check.name}") == "disabled":
                    continue
                checks += 1
                kwargs = resolve_kwargs(check.kwargs, params)
                if not check.unique_columns:
                    counts.append(f"count(*) FILTER (WHERE {_unexpected(check.expectation, kwargs, literal)})")
                elif not (suite.source() and unique_index(conn, str(suite.source()), check)):
                    key = ", ".join(f'"{c}"' for c in check.unique_columns)
                    counts.append(f"count(DISTINCT hash_record_extended(ROW({key}), 0))")
            query = render_sql(suite.sql(), args["run_id"], now, values)
            conn.execute(f"SELECT {', '.join(counts)} FROM ({query}) AS rows")  # type: ignore[arg-type]
    return {"suites": len(SUITES), "checks": checks}


def _unexpected(expectation: str, kwargs: dict[str, Any], literal: Any) -> str:
    """The condition of a row a check does not expect, as GX counts it (a NULL is unexpected only to the null
    checks)."""
    column = f'"{kwargs.get("column")}"'
    if expectation == "ExpectColumnValuesToNotBeNull":
        return f"{column} IS NULL"
    if expectation == "ExpectColumnValuesToBeNull":
        return f"{column} IS NOT NULL"
    if expectation == "ExpectColumnValuesToBeInSet":
        return f"{column} NOT IN ({', '.join(literal(v) for v in kwargs['value_set'])})"
    if expectation == "ExpectColumnValuesToMatchRegex":
        return f"{column} !~ {literal(kwargs['regex'])}"
    if expectation == "ExpectColumnValuesToBeBetween":
        bounds = [
            f"{column} < {literal(kwargs['min_value'])}" if kwargs.get("min_value") is not None else None,
            f"{column} > {literal(kwargs['max_value'])}" if kwargs.get("max_value") is not None else None,
        ]
        return " OR ".join(b for b in bounds if b)
    if expectation == "ExpectColumnPairValuesAToBeGreaterThanB":
        below = "<" if kwargs.get("or_equal") else "<="
        return f'"{kwargs["column_A"]}" {below} "{kwargs["column_B"]}"'
    raise ValueError(f"no floor for {expectation}")


TASKS = {"floor_ingest": floor_ingest, "floor_build": floor_build, "floor_validation": floor_validation}
