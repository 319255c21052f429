"""Settings: the one duration grammar, the ``[sms_tracking]`` section's reading order and checks, and the
declaration's two other uses (the provider's config, the docs' table)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from tests.project import PROJECT

from sms_tracking.errors import SettingsError
from sms_tracking.get_provider_info import get_provider_info
from sms_tracking.settings import Settings, get_settings, parse_duration, settings_table

DOCS = PROJECT / "docs"
NEW = "AIRFLOW__SMS_TRACKING__"


@pytest.fixture(autouse=True)
def _no_configured_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from the declared defaults, whatever the shell exported."""
    import os

    for name in list(os.environ):
        if name.startswith((NEW, "SMS_TRACKING_")):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1d12h", timedelta(hours=36)),
        (" 0h ", timedelta()),
        ("1.5H", timedelta(minutes=90)),
        ("2h 30m", timedelta(minutes=150)),
    ],
)
def test_durations_read_as_the_docs_write_them(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "2 hours", "h", "1w", "2h-", "-2h"])
def test_a_duration_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "seconds"), {"24h": 86400, "86400": 86400, "90m": 5400, "1d": 86400, "30s": 30, "0.5": 0.5}.items()
)
def test_duration_settings_accept_units_or_bare_seconds(
    monkeypatch: pytest.MonkeyPatch, text: str, seconds: float
) -> None:
    period = timedelta(seconds=seconds)
    assert parse_duration(text, bare_seconds=True) == period
    monkeypatch.setenv(f"{NEW}SIGNIFICANT_ERROR_PERIOD", text)
    assert get_settings().significant_error_period == period


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a day", "[sms_tracking] clock_skew: 'a day' is not a duration: give seconds"),
        ("0", "[sms_tracking] clock_skew: expected a positive duration, found '0'"),
        ("0h", "[sms_tracking] clock_skew: expected a positive duration"),
    ],
)
def test_a_bad_setting_names_its_key(monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    monkeypatch.setenv(f"{NEW}CLOCK_SKEW", value)
    with pytest.raises(SettingsError, match=re.escape(message)):
        get_settings()


def test_unset_or_empty_settings_take_the_declared_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = get_settings()
    assert defaults == Settings()
    assert defaults.clock_skew == timedelta(minutes=2)
    assert defaults.conn_id == "sms_tracking_postgres"
    assert defaults.work_mem == "64MB"
    assert defaults.mask_phones is True
    monkeypatch.setenv(f"{NEW}CLOCK_SKEW", "")
    assert get_settings().clock_skew == timedelta(minutes=2)
    monkeypatch.setenv(f"{NEW}WORK_MEM", "")  # the one option whose empty value means something: the server's
    assert get_settings().work_mem == ""


def test_defaults_that_depend_on_the_installation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    settings = get_settings()
    assert settings.landing_url == str(tmp_path / "sms_tracking_landing")
    assert settings.data_docs_dir == tmp_path / "sms_tracking_data_docs"
    assert settings.config_file("sources").name == "sources.yaml"
    assert settings.config_file("sources").is_file()
    monkeypatch.setenv(f"{NEW}SOURCES", "/etc/sms/sources.yaml")
    assert get_settings().config_file("sources") == Path("/etc/sms/sources.yaml")


def test_airflow_config_wins_over_the_legacy_variable_which_wins_over_the_default(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SMS_TRACKING_CLOCK_SKEW", "1m30s")
    with (
        pytest.warns(DeprecationWarning, match="deprecated") as caught,
        caplog.at_level(logging.WARNING, "sms_tracking.settings"),
    ):
        assert get_settings().clock_skew == timedelta(seconds=90)
    expected = (
        "SMS_TRACKING_CLOCK_SKEW is deprecated: set [sms_tracking] clock_skew "
        "(AIRFLOW__SMS_TRACKING__CLOCK_SKEW) instead"
    )
    assert [str(w.message) for w in caught if w.category is DeprecationWarning] == [expected]
    assert expected in caplog.messages

    monkeypatch.setenv(f"{NEW}CLOCK_SKEW", "15m")
    assert get_settings().clock_skew == timedelta(minutes=15)


def test_the_legacy_variable_names_itself_when_its_value_is_bad(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_TRACKING_OPT_OUT_DAYS", "a week")
    with (
        pytest.warns(DeprecationWarning, match="SMS_TRACKING_OPT_OUT_DAYS is deprecated"),
        pytest.raises(
            SettingsError,
            match=re.escape(
                "[sms_tracking] opt_out_days (from SMS_TRACKING_OPT_OUT_DAYS): expected a whole number of days >= 0, "
                "found 'a week'"
            ),
        ),
    ):
        get_settings()


@contextmanager
def in_airflow_cfg(key: str, value: str) -> Iterator[None]:
    """``[sms_tracking] key = value`` in Airflow's parsed configuration (as airflow.cfg fills it) for the block."""
    from airflow.configuration import conf

    if not conf.has_section("sms_tracking"):
        conf.add_section("sms_tracking")
    conf.set("sms_tracking", key, value)
    try:
        yield
    finally:
        conf.remove_option("sms_tracking", key)


def test_airflow_cfg_is_read_too() -> None:
    """A value in airflow.cfg (Airflow's parser, as the file fills it) counts as the section's."""
    with in_airflow_cfg("max_objects_per_run", "42"):
        assert get_settings().max_objects_per_run == 42
    assert get_settings().max_objects_per_run == 500


def test_an_explicit_value_equal_to_the_default_still_wins_over_the_legacy_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Set is decided by Airflow's own sources, not by comparing with the default."""
    monkeypatch.setenv("SMS_TRACKING_MAX_REJECT_RATE", "0.5")
    monkeypatch.setenv(f"{NEW}MAX_REJECT_RATE", "0.05")
    assert get_settings().max_reject_rate == 0.05
    monkeypatch.delenv(f"{NEW}MAX_REJECT_RATE")
    with in_airflow_cfg("max_reject_rate", "0.05"):
        assert get_settings().max_reject_rate == 0.05
    with pytest.warns(DeprecationWarning, match="SMS_TRACKING_MAX_REJECT_RATE"):
        assert get_settings().max_reject_rate == 0.5


def test_with_the_provider_registered_its_defaults_do_not_hide_a_legacy_variable(tmp_path: Path) -> None:
    """As when the wheel is installed: Airflow knows the declared defaults through the provider's entry point."""
    import os
    import subprocess
    import sys

    dist = tmp_path / "sms_tracking-0.0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sms-tracking\nVersion: 0.0.0\n")
    (dist / "entry_points.txt").write_text(
        "[apache_airflow_provider]\nprovider_info = sms_tracking.get_provider_info:get_provider_info\n"
    )
    probe = (
        "import os; from airflow.configuration import conf; from sms_tracking.settings import get_settings; "
        "seen = [conf.get_default_value('sms_tracking', 'max_reject_rate'), get_settings().max_reject_rate]; "
        "del os.environ['AIRFLOW__SMS_TRACKING__MAX_REJECT_RATE']; "
        "print(*seen, get_settings().max_reject_rate)"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith((NEW, "SMS_TRACKING_"))},
        "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "SMS_TRACKING_MAX_REJECT_RATE": "0.5",
        f"{NEW}MAX_REJECT_RATE": "0.05",
    }
    run = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    # The provider's default is known; the explicit 0.05 wins; unset, the legacy 0.5 applies.
    assert run.stdout.splitlines()[-1].split() == ["0.05", "0.05", "0.5"], run.stdout + run.stderr


REFUSED: dict[str, dict[str, str]] = {
    "max_reject_rate": {"lots": "expected a share between 0 and 1, found 'lots'"},
    "max_objects_per_run": {"0": "expected a whole number, 1 or more"},
    "control_group_percent": {"101": "expected a percentage between 0 and 100"},
    "quarantine_error_threshold": {"0": "expected a whole number of errors, 1 or more"},
    "significant_error_period": {"a day": "'a day' is not a duration"},
    "with_errors_release_days": {"ten": "expected a positive number of days"},
    "stop_keywords": {" , ": "no keyword in ' , '"},
    "bot_click_seconds": {
        "nan": "expected a number of seconds >= 0, found 'nan'",
        "-1": "expected a number of seconds >= 0, found '-1'",
        "soon": "expected a number of seconds >= 0, found 'soon'",
    },
    "opt_out_days": {"a week": "expected a whole number of days >= 0"},
    "validation_retention_days": {"0": "expected a whole number of days, 1 or more"},
    "mask_phones": {"maybe": "expected one of true/false, yes/no, on/off, 1/0, found 'maybe'"},
    "pull_max_attempts": {"0": "expected a whole number, 1 or more"},
    "ui_statement_timeout_ms": {"soon": "expected a whole number of milliseconds"},
}
"""Values each option refuses (every module's options, read through the one settings object), and why."""


@pytest.mark.parametrize(
    ("key", "value", "message"), [(key, value, why) for key, values in REFUSED.items() for value, why in values.items()]
)
def test_invalid_values_are_refused_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str, message: str
) -> None:
    monkeypatch.setenv(NEW + key.upper(), value)
    with pytest.raises(SettingsError, match=re.escape(f"[sms_tracking] {key}: {message}")):
        get_settings()


def test_a_bad_setting_met_while_reading_the_sources_is_reported_as_a_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not as "the sources file is unusable"; still permanent, so the task fails without retry."""
    from sms_tracking.errors import PermanentError, SourcesError
    from sms_tracking.pipeline import source_by_name

    assert issubclass(SettingsError, PermanentError) and not issubclass(SettingsError, ValueError)
    monkeypatch.setenv(f"{NEW}MAX_OBJECTS_PER_RUN", "many")
    with pytest.raises(SettingsError, match=re.escape("[sms_tracking] max_objects_per_run: expected a whole number")):
        source_by_name("smpp_main")
    monkeypatch.delenv(f"{NEW}MAX_OBJECTS_PER_RUN")
    assert source_by_name("smpp_main").name == "smpp_main"
    with pytest.raises(SourcesError, match="no source named 'nowhere'"):
        source_by_name("nowhere")


def test_lists_and_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{NEW}BOT_USER_AGENTS", " AcmeScanner , ,Other/1")
    monkeypatch.setenv(f"{NEW}MASK_PHONES", "off")
    settings = get_settings()
    assert settings.bot_user_agents == ("AcmeScanner", "Other/1")
    assert settings.mask_phones is False


def test_the_provider_declares_every_option_with_its_type_and_default() -> None:
    section = get_provider_info()["config"]["sms_tracking"]
    options = section["options"]
    assert list(options) == list(Settings.model_fields)
    assert options["clock_skew"] == {
        "description": Settings.model_fields["clock_skew"].description,
        "version_added": "0.1.0",
        "type": "string",
        "example": "15m",
        "default": "2m",
    }
    assert options["max_objects_per_run"]["type"] == "integer"
    assert options["mask_phones"]["type"] == "boolean"
    assert options["landing"]["default"] is None
    assert all(option["description"] for option in options.values())
    # Every declared default passes its own checks.
    assert Settings(**{key: option["default"] for key, option in options.items() if option["default"] is not None})


def test_the_operations_doc_shows_the_generated_settings_table() -> None:
    text = (DOCS / "operations.md").read_text(encoding="utf-8")
    assert settings_table() in text, "docs/operations.md: regenerate the table with scripts/settings_table.py"


def test_config_pull_and_pipeline_import_without_a_cycle() -> None:
    """config imports neither pull nor pipeline, pull neither config nor pipeline (RunInfo lives in audit)."""
    import subprocess
    import sys

    probe = (
        "import sys, importlib; importlib.import_module(sys.argv[1]); "
        "print(' '.join(m for m in ('sms_tracking.config', 'sms_tracking.pull', 'sms_tracking.pipeline') "
        "if m in sys.modules and m != sys.argv[1]))"
    )
    imported = {
        module: subprocess.run(
            [sys.executable, "-c", probe, module], capture_output=True, text=True, check=True
        ).stdout.split()
        for module in ("sms_tracking.config", "sms_tracking.pull", "sms_tracking.audit")
    }
    assert imported == {"sms_tracking.config": [], "sms_tracking.pull": [], "sms_tracking.audit": []}


# --- sources.yaml: send_log (a provider's message log as the send log) ---------------------------------------


def test_send_log_is_off_by_default_and_on_for_the_message_log_formats(tmp_path: Path) -> None:
    from sms_tracking.config import load_sources

    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        "  - {name: plain, provider: twilio, format: twilio_json, path: a}\n"
        "  - {name: fivetran, provider: twilio, format: twilio_csv, path: b, send_log: true}\n"
        "  - {name: api, provider: twilio, transport: api, conn_id: twilio_default, path: c, send_log: true,\n"
        "     send_log_field: messaging_service_sid}\n",
        encoding="utf-8",
    )

    assert [(s.name, s.send_log, s.send_log_field) for s in load_sources(sources)] == [
        ("plain", False, None),
        ("fivetran", True, None),
        ("api", True, "messaging_service_sid"),
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "{name: cb, provider: twilio, format: twilio_callback, path: a, send_log: true}",
            r"source #1 \(cb\): send_log needs a provider's message log .* 'twilio_callback' is not one; "
            r"twilio_csv, twilio_json are",
        ),
        ("{name: smsc, provider: smpp, format: smpp, path: a, send_log: true}", "'smpp' is not one"),
        (
            "{name: odd, provider: twilio, format: twilio_json, path: a, send_log: sometimes}",
            r"source #1 \(odd\): send_log: ",
        ),
        (
            "{name: half, provider: twilio, format: twilio_json, path: a, send_log_field: messaging_service_sid}",
            r"source #1 \(half\): send_log_field names the deliveries of a send log: set send_log: true too",
        ),
    ],
)
def test_send_log_is_refused_where_the_reports_are_no_message_log(tmp_path: Path, entry: str, message: str) -> None:
    from sms_tracking.config import load_sources

    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - {entry}\n", encoding="utf-8")

    with pytest.raises(ValueError, match=message):
        load_sources(sources)
