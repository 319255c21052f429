"""Failures a retry cannot fix."""

from __future__ import annotations


class PermanentError(Exception):
    """The input or the configuration is wrong, so running the task again fails the same way.

    The DAGs fail such a task at once instead of retrying it (``sms_tracking.dags.common.fail_fast``)."""


class SourcesError(PermanentError):
    """The sources file cannot be read, or names no source by that name."""


class SettingsError(PermanentError):
    """An ``[sms_tracking]`` option (or its legacy variable) has a value its declaration refuses."""
