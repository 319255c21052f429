"""``include/config/quality.yaml``, read and checked, and the run-time values its thresholds give."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sms_tracking.quality.suites import Suite, check_ids

Severity = Literal["critical", "warning", "disabled"]


SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "disabled")


@dataclass(frozen=True)
class QualityConfig:
    """``include/config/quality.yaml``, checked: thresholds, freshness, failure reasons, severities."""

    stuck_after_hours: float
    stuck_lookback_days: int
    future_tolerance_minutes: float
    done_before_submit_tolerance_seconds: float
    orphan_max_share: float
    sample_size: int
    freshness_default_hours: float
    freshness_hours: Mapping[str, float]
    failure_reasons: tuple[str, ...]
    severity_default: Severity
    severity_rules: Mapping[Severity, tuple[str, ...]]

    def severity(self, check_id: str) -> Severity:
        for level, patterns in self.severity_rules.items():
            if any(fnmatch.fnmatchcase(check_id, pattern) for pattern in patterns):
                return level
        return self.severity_default


_THRESHOLDS = {
    "stuck_after_hours": (float, 0.0, None),
    "stuck_lookback_days": (int, 1, None),
    "future_tolerance_minutes": (float, 0.0, None),
    "done_before_submit_tolerance_seconds": (float, 0.0, None),
    "orphan_max_share": (float, 0.0, 1.0),
    "sample_size": (int, 1, 100),
}


def load_config(path: Path | None = None, suites: Sequence[Suite] | None = None) -> QualityConfig:
    """Read and check the quality file; a mistake names the key and what was expected."""
    import yaml

    from sms_tracking.settings import get_settings

    path = path or get_settings().config_file("quality_config")
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return parse_config(document, where=str(path), suites=suites)


def parse_config(
    document: Mapping[str, Any], where: str = "quality config", suites: Sequence[Suite] | None = None
) -> QualityConfig:
    """The checked configuration from the YAML document (pure, so it is tested without files)."""
    _known_keys(document, {"thresholds", "freshness", "failure_reasons", "severity"}, where)
    thresholds = document.get("thresholds") or {}
    _known_keys(thresholds, set(_THRESHOLDS), f"{where}: thresholds")
    values: dict[str, Any] = {}
    for name, (kind, low, high) in _THRESHOLDS.items():
        if name not in thresholds:
            raise ValueError(f"{where}: thresholds.{name} is missing")
        values[name] = _number(thresholds[name], kind, low, high, f"{where}: thresholds.{name}")

    freshness = document.get("freshness") or {}
    _known_keys(freshness, {"default_max_age_hours", "sources"}, f"{where}: freshness")
    default_hours = _number(
        freshness.get("default_max_age_hours"), float, 0.0, None, f"{where}: freshness.default_max_age_hours"
    )
    per_source = {
        str(name): _number(hours, float, 0.0, None, f"{where}: freshness.sources.{name}")
        for name, hours in (freshness.get("sources") or {}).items()
    }

    reasons = document.get("failure_reasons")
    if not isinstance(reasons, list) or not reasons or not all(isinstance(r, str) and r for r in reasons):
        raise ValueError(f"{where}: failure_reasons must be a non-empty list of reasons")

    severity = document.get("severity") or {}
    _known_keys(severity, {"default", *SEVERITIES}, f"{where}: severity")
    default = severity.get("default", "critical")
    if default not in SEVERITIES:
        raise ValueError(f"{where}: severity.default is {default!r}; expected one of {', '.join(SEVERITIES)}")
    rules: dict[Severity, tuple[str, ...]] = {}
    for level in SEVERITIES:
        patterns = severity.get(level) or []
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise ValueError(f"{where}: severity.{level} must be a list of check ids or globs")
        rules[level] = tuple(patterns)
    _check_severity_rules(rules, check_ids(suites), where)

    return QualityConfig(
        **values,
        freshness_default_hours=default_hours,
        freshness_hours=per_source,
        failure_reasons=tuple(reasons),
        severity_default=default,
        severity_rules=rules,
    )


def _known_keys(mapping: Any, allowed: set[str], where: str) -> None:
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{where} must be a mapping, not {type(mapping).__name__}")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(map(str, unknown))}; expected {', '.join(sorted(allowed))}"
        )


def _number(value: Any, kind: type, low: float | None, high: float | None, where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and not isinstance(value, int)):
        raise ValueError(f"{where} is {value!r}; expected {'an integer' if kind is int else 'a number'}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"at least {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"{where} is {value!r}; expected {bounds}")
    return kind(value)


def _check_severity_rules(rules: Mapping[Severity, Sequence[str]], ids: Sequence[str], where: str) -> None:
    """Every pattern names at least one check, and no check is given two severities."""
    for level, patterns in rules.items():
        for pattern in patterns:
            if not any(fnmatch.fnmatchcase(check_id, pattern) for check_id in ids):
                raise ValueError(
                    f"{where}: severity.{level} entry {pattern!r} matches no check; checks are "
                    f"<suite>.<check>, e.g. {ids[0]} (docs/quality.md lists them)"
                )
    for check_id in ids:
        levels = [level for level, patterns in rules.items() if any(fnmatch.fnmatchcase(check_id, p) for p in patterns)]
        if len(levels) > 1:
            raise ValueError(f"{where}: check {check_id} is listed under severity {' and '.join(levels)}")


def runtime_params(config: QualityConfig, now: datetime, unknown_failure_reason: str | None = None) -> dict[str, Any]:
    """The values :class:`Param` placeholders take in this run."""
    reasons = list(config.failure_reasons)
    if unknown_failure_reason and unknown_failure_reason not in reasons:
        reasons.append(unknown_failure_reason)
    return {
        "future_limit": now + timedelta(minutes=config.future_tolerance_minutes),
        "stuck_after_hours": config.stuck_after_hours,
        "min_submit_to_done_seconds": -config.done_before_submit_tolerance_seconds,
        "orphan_min_matched_share": 1.0 - config.orphan_max_share,
        "failure_reasons": reasons,
    }
