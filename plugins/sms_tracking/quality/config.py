"""``include/config/quality.yaml``, read into a typed model (errors name the file, the part and the field),
and the run-time values its thresholds give."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, model_validator

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
    failure_reasons: tuple[str, ...] | None
    """A narrower list than the reason table's (``sms_tracking.failure_reason``); None: the table's."""
    severity_default: Severity
    severity_rules: Mapping[Severity, tuple[str, ...]]

    def severity(self, check_id: str) -> Severity:
        for level, patterns in self.severity_rules.items():
            if any(fnmatch.fnmatchcase(check_id, pattern) for pattern in patterns):
                return level
        return self.severity_default


def _number(kind: type[int] | type[float], low: float, high: float | None = None) -> BeforeValidator:
    """A number as YAML gives it (never a string or a boolean; an integer where ``kind`` is int), in bounds."""

    def check(value: Any) -> int | float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (kind is int and not isinstance(value, int))
        ):
            raise ValueError(f"expected {'an integer' if kind is int else 'a number'}, found {value!r}")
        if value < low or (high is not None and value > high):
            bounds = f"at least {low:g}" if high is None else f"between {low:g} and {high:g}"
            raise ValueError(f"expected {bounds}, found {value!r}")
        return kind(value)

    return BeforeValidator(check)


def _reasons(value: Any) -> Any:
    if value is None:
        return value
    if not isinstance(value, list) or not value or not all(isinstance(r, str) and r.strip() for r in value):
        raise ValueError(f"expected a non-empty list of reasons, found {value!r}")
    return value


def _none_is(empty: Any) -> BeforeValidator:
    """``key:`` with nothing after it (YAML's null) reads as the empty value."""
    return BeforeValidator(lambda value: empty if value is None else value)


Hours = Annotated[float, _number(float, 0.0)]
Patterns = Annotated[tuple[str, ...], _none_is(())]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Part):
    stuck_after_hours: Hours
    stuck_lookback_days: Annotated[int, _number(int, 1)]
    future_tolerance_minutes: Annotated[float, _number(float, 0.0)]
    done_before_submit_tolerance_seconds: Annotated[float, _number(float, 0.0)]
    orphan_max_share: Annotated[float, _number(float, 0.0, 1.0)]
    sample_size: Annotated[int, _number(int, 1, 100)]


class Freshness(_Part):
    default_max_age_hours: Hours
    sources: Annotated[dict[str, Hours], _none_is({})] = {}


class SeverityRules(_Part):
    """Which checks are critical, warnings or disabled; every pattern must name a check of the catalogue
    (the ``check_ids`` of the validation context), and no check may take two severities."""

    default: Severity = "critical"
    critical: Patterns = ()
    warning: Patterns = ()
    disabled: Patterns = ()

    @model_validator(mode="before")
    @classmethod
    def _text_keys(cls, value: Any) -> Any:
        # YAML reads `off:` or `no:` as a boolean key, which pydantic would not name as unknown.
        if isinstance(value, Mapping) and not all(isinstance(key, str) for key in value):
            unknown = ", ".join(str(key) for key in value if not isinstance(key, str))
            raise ValueError(f"unknown key {unknown}; expected default, {', '.join(SEVERITIES)}")
        return value

    @model_validator(mode="after")
    def _known_checks(self, info: ValidationInfo) -> SeverityRules:
        ids = (info.context or {}).get("check_ids") or check_ids()
        rules = self.rules()
        for level, patterns in rules.items():
            for pattern in patterns:
                if not any(fnmatch.fnmatchcase(check_id, pattern) for check_id in ids):
                    raise ValueError(
                        f"{level} entry {pattern!r} matches no check; checks are <suite>.<check>, "
                        f"e.g. {ids[0]} (docs/quality.md lists them)"
                    )
        for check_id in ids:
            levels = [
                level for level, patterns in rules.items() if any(fnmatch.fnmatchcase(check_id, p) for p in patterns)
            ]
            if len(levels) > 1:
                raise ValueError(f"check {check_id} is listed under severity {' and '.join(levels)}")
        return self

    def rules(self) -> dict[Severity, tuple[str, ...]]:
        return {"critical": self.critical, "warning": self.warning, "disabled": self.disabled}


class QualityFile(_Part):
    """``quality.yaml`` as written: each part checked, a mistake named by file, part and field."""

    thresholds: Thresholds
    freshness: Freshness
    failure_reasons: Annotated[tuple[str, ...] | None, BeforeValidator(_reasons)] = None
    severity: Annotated[SeverityRules, _none_is({})] = Field(default_factory=SeverityRules.model_construct)

    def config(self) -> QualityConfig:
        return QualityConfig(
            **self.thresholds.model_dump(),
            freshness_default_hours=self.freshness.default_max_age_hours,
            freshness_hours=self.freshness.sources,
            failure_reasons=self.failure_reasons,
            severity_default=self.severity.default,
            severity_rules=self.severity.rules(),
        )


def load_config(path: Path | None = None, suites: Sequence[Suite] | None = None) -> QualityConfig:
    """Read and check the quality file; a mistake names the file, the part and the field."""
    import yaml

    from sms_tracking.settings import get_settings

    path = path or get_settings().config_file("quality_config")
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return parse_config(document, where=str(path), suites=suites)


def parse_config(document: Any, where: str = "quality config", suites: Sequence[Suite] | None = None) -> QualityConfig:
    """The checked configuration from the YAML document (pure, so it is tested without files)."""
    from sms_tracking.yaml_files import validate

    return validate(document, QualityFile, where, context={"check_ids": check_ids(suites)}).config()


def runtime_params(
    config: QualityConfig,
    now: datetime,
    unknown_failure_reason: str | None = None,
    vocabulary: Sequence[str] = (),
) -> dict[str, Any]:
    """The values :class:`Param` placeholders take in this run; the accepted failure reasons are the reason
    table's (``vocabulary``), unless the quality file narrows them."""
    reasons = list(config.failure_reasons or vocabulary)
    if unknown_failure_reason and unknown_failure_reason not in reasons:
        reasons.append(unknown_failure_reason)
    return {
        "future_limit": now + timedelta(minutes=config.future_tolerance_minutes),
        "stuck_after_hours": config.stuck_after_hours,
        "min_submit_to_done_seconds": -config.done_before_submit_tolerance_seconds,
        "orphan_min_matched_share": 1.0 - config.orphan_max_share,
        "failure_reasons": reasons,
    }
