"""The pure parts of the data-quality checks: the suite catalogue, configuration, SQL, results, messages.

Nothing here imports Great Expectations or touches a database; tests/integration/test_quality.py runs
the suites on a real Postgres.
"""

from __future__ import annotations

import copy
import itertools
import re
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.landing import config_file
from tests.project import PROJECT

from sms_tracking import db, quality
from sms_tracking.quality import (
    SUITES,
    Check,
    CheckResult,
    Param,
    Suite,
    check_ids,
    gx_error,
    key,
    load_config,
    parse_config,
    render_sql,
    result_from_gx,
    runtime_params,
    sql_values,
    sqlalchemy_url,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def document() -> dict[str, Any]:
    """The shipped configuration, as YAML gives it, to be bent by each test."""
    return yaml.safe_load((PROJECT / "include" / "config" / "quality.yaml").read_text())


# --- The catalogue ----------------------------------------------------------------------------------------


def test_check_ids_are_unique() -> None:
    ids = check_ids()
    assert len(ids) == len(set(ids))


def test_every_check_uses_a_gx_expectation_name_and_known_run_time_values() -> None:
    params = runtime_params(load_config(), NOW)
    for suite in SUITES:
        for check in suite.checks:
            assert re.fullmatch(r"Expect[A-Za-z]+", check.expectation), check
            quality.resolve_kwargs(check.kwargs, params)  # raises on an unknown Param


def test_every_suite_query_renders_with_no_placeholder_left() -> None:
    values = sql_values(load_config(), ["smpp_main"])
    for suite in SUITES:
        sql = render_sql(suite.sql(), "manual__2026-11-26T12:00:00+00:00", NOW, values)
        assert sql.startswith("SELECT * FROM (\n") and sql.endswith(") AS rows_in_scope"), suite.name
        assert not re.search(r"\{[a-z_]+\}", sql), suite.name


def test_suites_name_the_rows_of_their_samples() -> None:
    for suite in SUITES:
        assert suite.keys, suite.name
        assert suite.query or suite.name == suite.table, "a suite without a query is named after its table"


def test_the_issue_checks_are_in_the_catalogue() -> None:
    ids = set(check_ids())
    assert {
        "message.key_unique",
        "delivery_log.key_unique",
        "delivery_log.status_in_set",
        "delivery_log.failure_type_in_set",
        "delivery_log.failure_reason_in_set",
        "delivery_log.phone_e164_format",
        "delivery_log.done_after_submit",
        "report.event_at_not_in_future",
        "report.status_known",
        "report.matched_to_sent_message",
        "stuck_messages.final_status_in_time",
        "delivery_summary.agrees_with_delivery_log",
        "source_freshness.fresh",
    } <= ids


def test_docs_describe_every_check() -> None:
    text = (PROJECT / "docs" / "quality.md").read_text()
    assert [check_id for check_id in check_ids() if f"`{check_id}`" not in text] == []


def test_key_checks_each_column_for_nulls_and_the_columns_together_for_duplicates() -> None:
    single = key("delivery_id")
    assert [c.name for c in single] == ["delivery_id_not_null", "key_unique"]
    assert single[1].expectation == "ExpectColumnValuesToBeUnique"
    compound = key("provider", "provider_message_id")
    assert [c.name for c in compound] == ["provider_not_null", "provider_message_id_not_null", "key_unique"]
    assert compound[2].kwargs == {"column_list": ["provider", "provider_message_id"]}


def test_check_names_its_gx_type_and_columns() -> None:
    check = Check("x", "ExpectColumnPairValuesAToBeGreaterThanB", "d", {"column_A": "a", "column_B": "b"})
    assert check.expectation_type == "expect_column_pair_values_a_to_be_greater_than_b"
    assert check.column == "a,b"
    assert Check("y", "ExpectTableRowCountToEqual", "d", {"value": 0}).column is None


def test_e164_pattern_accepts_e164_only() -> None:
    pattern = re.compile(quality.E164)
    assert all(pattern.match(n) for n in ("+33612345678", "+15550199", "+447700900000"))
    assert not any(
        pattern.match(n) for n in ("0612345678", "+0612345678", "33612345678", "+3361234567890123", "+33 6 12 34 56 78")
    )


def test_e164_pattern_matches_what_the_bounded_pattern_matches() -> None:
    """The lookahead form (faster in Postgres) matches the same strings as the plain ``{1,14}`` one."""
    plain = re.compile(r"^\+[1-9][0-9]{1,14}$")
    pattern = re.compile(quality.E164)
    candidates = ["+" + "1" * n + end for n in range(20) for end in ("", "\n", "x", " ")]
    candidates += ["".join(chars) for size in range(7) for chars in itertools.product("+019 \n", repeat=size)]
    assert any(plain.match(s) for s in candidates)
    for text in candidates:
        assert bool(pattern.match(text)) == bool(plain.match(text)), text


# --- Configuration ----------------------------------------------------------------------------------------


def test_shipped_configuration_has_the_issue_defaults() -> None:
    config = load_config()
    assert config.stuck_after_hours == 72
    # Reports dated before submission or after their arrival are timed by their arrival in the delivery log
    # (docs/reliability.md): the checks on the dates the providers gave warn.
    assert config.severity("delivery_log.done_after_submit") == "warning"
    assert config.severity("report.event_at_not_in_future") == "warning"
    assert config.severity("report.status_known") == "critical"
    assert config.severity("report.matched_to_sent_message") == "critical"
    assert config.severity("stuck_messages.final_status_in_time") == "warning"
    assert config.severity("source_freshness.fresh") == "warning"
    assert config.severity("message.recipient_sent_once") == "warning"
    assert config.failure_reasons is None  # the reason table decides


def test_configuration_file_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: dict[str, Any]
) -> None:
    document["thresholds"]["stuck_after_hours"] = 24
    config_file(monkeypatch, tmp_path / "quality.yaml", "quality_config", document)
    assert load_config().stuck_after_hours == 24


def test_severity_globs_and_default(document: dict[str, Any]) -> None:
    document["severity"] = {"default": "warning", "critical": ["delivery_log.*"], "disabled": ["click.*"]}
    config = parse_config(document)
    assert config.severity("delivery_log.key_unique") == "critical"
    assert config.severity("click.key_unique") == "disabled"
    assert config.severity("message.key_unique") == "warning"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            lambda d: d["thresholds"].update(stuck_after_hours="72h"),
            r"quality\.yaml: thresholds\.stuck_after_hours: expected a number, found '72h'",
        ),
        (
            lambda d: d["thresholds"].update(orphan_max_share=5),
            r"thresholds\.orphan_max_share: expected between 0 and 1, found 5",
        ),
        (
            lambda d: d["thresholds"].update(sample_size=2.5),
            r"thresholds\.sample_size: expected an integer, found 2\.5",
        ),
        (lambda d: d["thresholds"].pop("stuck_after_hours"), r"quality\.yaml: missing thresholds\.stuck_after_hours"),
        (lambda d: d["thresholds"].update(stuck_hours=1), r"unknown key thresholds\.stuck_hours"),
        (lambda d: d.update(severities={}), r"quality\.yaml: unknown key severities"),
        (
            lambda d: d["severity"].update(warning=["delivery_log.done_after_submitt"]),
            r"'delivery_log\.done_after_submitt' matches no check",
        ),
        (
            lambda d: d["severity"].update(critical=["stuck_messages.final_status_in_time"]),
            r"stuck_messages\.final_status_in_time is listed under severity critical and warning",
        ),
        (
            lambda d: d["severity"].update(default="fatal"),
            r"severity\.default: .*'critical', 'warning' or 'disabled' \(found 'fatal'\)",
        ),
        (lambda d: d["severity"].update({False: []}), r"severity: unknown key False"),  # YAML reads `off:` as false
        (lambda d: d.update(failure_reasons=[]), r"failure_reasons: expected a non-empty list of reasons"),
        (
            lambda d: d["freshness"]["sources"].update(smpp_main=-1),
            r"freshness\.sources\.smpp_main: expected at least 0, found -1",
        ),
    ],
)
def test_configuration_mistakes_name_the_key(document: dict[str, Any], change: Any, error: str) -> None:
    broken = copy.deepcopy(document)
    change(broken)
    with pytest.raises(ValueError, match=error):
        parse_config(broken, where="quality.yaml")


def test_a_suite_added_later_is_configured_like_the_others(document: dict[str, Any]) -> None:
    send_list = Suite("send_list", "send_list", ("delivery_id", "recipient_id"), checks=key("delivery_id"))
    document["severity"]["warning"].append("send_list.key_unique")
    config = parse_config(document, suites=(*SUITES, send_list))
    assert config.severity("send_list.key_unique") == "warning"
    with pytest.raises(ValueError, match="matches no check"):
        parse_config(document)  # without the suite, its id is a typo


# --- Run-time values and SQL ------------------------------------------------------------------------------


def test_runtime_params_turn_thresholds_into_expectation_arguments() -> None:
    vocabulary = ("Not defined", "User unknown")
    params = runtime_params(load_config(), NOW, unknown_failure_reason="Unqualified", vocabulary=vocabulary)
    assert params["future_limit"] == NOW + timedelta(minutes=15)
    assert params["orphan_min_matched_share"] == pytest.approx(0.95)
    assert params["min_submit_to_done_seconds"] == -120
    assert params["failure_reasons"] == ["Not defined", "User unknown", "Unqualified"]
    assert runtime_params(load_config(), NOW, "Not defined", vocabulary)["failure_reasons"].count("Not defined") == 1


def test_the_accepted_reasons_are_the_reason_tables_unless_the_quality_file_narrows_them(
    document: dict[str, Any],
) -> None:
    narrowed = parse_config({**document, "failure_reasons": ["User unknown"]})
    assert runtime_params(narrowed, NOW, None, ("Not defined", "User unknown"))["failure_reasons"] == ["User unknown"]
    assert load_config().failure_reasons is None


def test_resolve_kwargs_fills_params_and_lists_tuples() -> None:
    kwargs = {"column": "status", "value_set": ("a", "b"), "mostly": Param("share")}
    assert quality.resolve_kwargs(kwargs, {"share": 0.9}) == {
        "column": "status",
        "value_set": ["a", "b"],
        "mostly": 0.9,
    }
    with pytest.raises(KeyError, match="share"):
        quality.resolve_kwargs(kwargs, {})


def test_render_sql_quotes_the_run_id() -> None:
    sql = render_sql("SELECT 1 WHERE x = {run_id} AND o IN {objects} AND t < {now}", "it's", NOW, {})
    assert "x = 'it''s'" in sql
    assert "(SELECT object_id FROM sms_tracking.validated_object WHERE run_id = 'it''s')" in sql
    assert "'2026-11-26 12:00:00+00:00'::timestamptz" in sql


def test_freshness_lists_campaign_every_source_and_configured_ages(document: dict[str, Any]) -> None:
    document["freshness"]["sources"] = {"smpp_main": 2, "legacy": 48}
    values = sql_values(parse_config(document), ["smpp_main", "twilio_api"])
    assert values["freshness_sources"] == (
        "VALUES ('campaign', 24.0), ('smpp_main', 2.0), ('twilio_api', 24.0), ('legacy', 48.0)"
    )
    assert values["stuck_lookback_days"] == "30"
    names = {name for _, name, _, _ in string.Formatter().parse(db.sql_text("quality/source_freshness.sql"))}
    assert "freshness_sources" in names


@pytest.mark.parametrize(
    ("dsn", "url"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgres://u:p@h/db?sslmode=require", "postgresql+psycopg://u:p@h/db?sslmode=require"),
        ("postgresql+psycopg://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("host=h port=5433 dbname=db user=u password=p@ss", "postgresql+psycopg://u:p%40ss@h:5433/db"),
    ],
)
def test_sqlalchemy_url_uses_psycopg3(dsn: str, url: str) -> None:
    assert sqlalchemy_url(dsn) == url


def test_data_docs_dir_is_configurable_and_defaults_under_airflow_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__DATA_DOCS", "/srv/docs")
    assert quality.data_docs_dir() == Path("/srv/docs")
    monkeypatch.delenv("AIRFLOW__SMS_TRACKING__DATA_DOCS")
    monkeypatch.setenv("AIRFLOW_HOME", "/opt/airflow")
    assert quality.data_docs_dir() == Path("/opt/airflow/sms_tracking_data_docs")


# --- Results and messages ---------------------------------------------------------------------------------

DELIVERY_LOG = next(s for s in SUITES if s.name == "delivery_log")
DONE_AFTER_SUBMIT = next(c for c in DELIVERY_LOG.checks if c.name == "done_after_submit")


def test_a_failed_check_reads_as_table_check_and_sample_rows() -> None:
    gx_result = {
        "element_count": 6,
        "unexpected_count": 1,
        "unexpected_percent": 16.7,
        "missing_count": 1,
        "partial_unexpected_list": [-600.0],
        "partial_unexpected_index_list": [
            {"provider": "smpp", "provider_message_id": "A2", "submit_to_done_seconds": -600.0}
        ],
    }
    result = result_from_gx(DELIVERY_LOG, DONE_AFTER_SUBMIT, "critical", False, gx_result, None, sample_size=5)
    assert result.failed and result.critical
    assert result.unexpected_sample == (
        {"provider": "smpp", "provider_message_id": "A2", "submit_to_done_seconds": -600.0},
    )
    assert result.observed_value == {"unexpected_percent": 16.7, "missing_count": 1}
    assert result.message() == (
        "sms_tracking.delivery_log: delivery_log.done_after_submit failed — expected a message is done no "
        "earlier than it was submitted (within done_before_submit_tolerance_seconds) "
        "[expect_column_values_to_be_between on submit_to_done_seconds]; 1 of 6 rows unexpected; "
        "sample rows: provider=smpp provider_message_id=A2 submit_to_done_seconds=-600.0"
    )


def test_samples_are_capped_and_kept_only_for_failures() -> None:
    rows = [{"provider": "smpp", "provider_message_id": f"A{i}"} for i in range(10)]
    failed = result_from_gx(
        DELIVERY_LOG,
        DONE_AFTER_SUBMIT,
        "critical",
        False,
        {"partial_unexpected_list": rows, "unexpected_count": 10},
        None,
        sample_size=3,
    )
    assert len(failed.unexpected_sample) == 3
    passed = result_from_gx(
        DELIVERY_LOG,
        DONE_AFTER_SUBMIT,
        "critical",
        True,
        {"partial_unexpected_list": rows, "unexpected_count": 0},
        None,
        sample_size=3,
    )
    assert passed.unexpected_sample == ()


def test_pair_and_scalar_samples_become_rows() -> None:
    pair = Check(
        "p", "ExpectColumnPairValuesAToBeGreaterThanB", "d", {"column_A": "finished_at", "column_B": "started_at"}
    )
    result = result_from_gx(DELIVERY_LOG, pair, "warning", False, {"partial_unexpected_list": [["t1", "t2"]]}, None, 5)
    assert result.unexpected_sample == ({"finished_at": "t1", "started_at": "t2"},)
    scalar = result_from_gx(
        DELIVERY_LOG, DONE_AFTER_SUBMIT, "warning", False, {"partial_unexpected_list": [-1.5]}, None, 5
    )
    assert scalar.unexpected_sample == ({"submit_to_done_seconds": -1.5},)


def test_a_gx_error_fails_the_check_with_the_error() -> None:
    result = result_from_gx(DELIVERY_LOG, DONE_AFTER_SUBMIT, "critical", False, {}, 'column "x" does not exist', 5)
    assert result.failed
    assert result.message().endswith('; could not run: column "x" does not exist')


def test_gx_error_reads_both_shapes_of_exception_info() -> None:
    assert gx_error(None) is None
    assert gx_error({"raised_exception": False, "exception_message": None}) is None
    assert gx_error({"raised_exception": True, "exception_message": "boom\ntrace"}) == "boom"
    per_metric = {
        "MetricConfigurationID(table.row_count)": {"raised_exception": True, "exception_message": "relation missing"}
    }
    assert gx_error(per_metric) == "relation missing"


def test_skipped_suites_record_each_check_as_table_missing() -> None:
    suite = Suite("quarantine", "quarantine", ("phone_e164",), checks=key("phone_e164"))
    severity = {"quarantine.phone_e164_not_null": "critical", "quarantine.key_unique": "disabled"}
    [result] = quality.skipped(suite, severity, ["quarantine"])
    assert result.success is None and not result.failed
    assert result.observed_value == "skipped: table missing (sms_tracking.quarantine)"


def test_failure_message_lists_critical_failures_then_warnings() -> None:
    check = Check(
        "key_unique",
        "ExpectCompoundColumnsToBeUnique",
        "no two rows share a (provider, id)",
        {"column_list": ["provider", "provider_message_id"]},
    )
    failure = CheckResult(
        "message",
        "message",
        check,
        "critical",
        False,
        element_count=7,
        unexpected_count=2,
        unexpected_sample=({"provider": "smpp", "provider_message_id": "A1"},),
    )
    warning = CheckResult("stuck_messages", "delivery_log", check, "warning", False, observed_value={"x": 1})
    text = str(quality.ValidationFailed("run'1", [failure], [warning]))
    lines = text.splitlines()
    assert lines[0] == "Data validation of run run'1: 1 critical check(s) failed, 1 warning(s):"
    assert lines[1].startswith("- sms_tracking.message: message.key_unique failed")
    assert "2 of 7 rows unexpected; sample rows: provider=smpp provider_message_id=A1" in lines[1]
    assert lines[2].startswith("- (warning) sms_tracking.delivery_log: stuck_messages.key_unique failed")
    assert lines[3] == "All results: SELECT * FROM sms_tracking.validation_result WHERE run_id = 'run''1'"
