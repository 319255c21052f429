"""Settings parsing: the one duration grammar shared by the pull options and the environment settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sms_tracking.config import Settings, duration_setting, parse_duration


@pytest.mark.parametrize(("text", "expected"), [
    ("90s", timedelta(seconds=90)), ("30m", timedelta(minutes=30)), ("2h", timedelta(hours=2)),
    ("1d", timedelta(days=1)), ("1d12h", timedelta(hours=36)), (" 0h ", timedelta()), ("1.5H", timedelta(minutes=90)),
    ("2h 30m", timedelta(minutes=150)),
])
def test_durations_read_as_the_docs_write_them(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "2 hours", "h", "1w", "2h-", "-2h"])
def test_a_duration_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(("text", "period"), [("24h", timedelta(hours=24)), ("86400", timedelta(days=1)),
                                              ("90m", timedelta(minutes=90)), ("1d", timedelta(days=1)),
                                              ("30s", timedelta(seconds=30)), ("0.5", timedelta(milliseconds=500))])
def test_settings_accept_units_or_bare_seconds(text: str, period: timedelta) -> None:
    assert parse_duration(text, bare_seconds=True) == period
    assert duration_setting({"X": text}, "X", timedelta(1)) == period


@pytest.mark.parametrize(("value", "message"), [("a day", "X: 'a day' is not a duration: give seconds"),
                                                ("0", "X: expected a positive duration, found '0'"),
                                                ("0h", "X: expected a positive duration")])
def test_a_bad_setting_names_itself(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        duration_setting({"X": value}, "X", timedelta(1))


def test_an_unset_setting_takes_its_default_and_the_clock_skew_reads_the_grammar(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    assert duration_setting({}, "X", timedelta(minutes=2)) == timedelta(minutes=2)
    assert duration_setting({"X": ""}, "X", timedelta(minutes=2)) == timedelta(minutes=2)
    monkeypatch.setenv("SMS_TRACKING_CLOCK_SKEW", "1m30s")
    assert Settings.from_env().clock_skew_seconds == 90
