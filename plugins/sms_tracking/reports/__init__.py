"""Provider report adapters, one module per provider, registered by format name.

Adding a provider: write ``reports/<provider>.py`` with functions of the :data:`~.base.Adapter`
signature and register each format here. Modules are imported only when a format is used.
A format whose provider is ``*`` (``generic_csv``) reads the reports of whichever provider the source
names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sms_tracking.reports.base import Adapter


@dataclass(frozen=True)
class FormatSpec:
    """Where the adapter of a format lives and which provider's reports it reads."""

    provider: str
    module: str
    function: str
    message_log: bool = False
    """Its records are the provider's log of every message sent (to, from, submit time), so it can serve as the
    send log (sources.yaml ``send_log``)."""

    def adapter(self) -> Adapter:
        module = importlib.import_module(f"sms_tracking.reports.{self.module}")
        return getattr(module, self.function)  # type: ignore[no-any-return]


FORMATS: dict[str, FormatSpec] = {
    "smpp": FormatSpec("smpp", "smpp", "parse"),
    "twilio_json": FormatSpec("twilio", "twilio", "parse_json", message_log=True),
    "twilio_callback": FormatSpec("twilio", "twilio", "parse_callback"),
    "twilio_csv": FormatSpec("twilio", "twilio", "parse_csv", message_log=True),
    "vonage_json": FormatSpec("vonage", "vonage", "parse_json"),
    "vonage_query": FormatSpec("vonage", "vonage", "parse_query"),
    "infobip_json": FormatSpec("infobip", "infobip", "parse_json"),
    "aws_sms_events": FormatSpec("aws", "aws", "parse_json"),
    "aws_sns_logs": FormatSpec("aws", "aws_sns", "parse_logs"),
    "sinch_json": FormatSpec("sinch", "sinch", "parse_json"),
    "generic_csv": FormatSpec("*", "generic_csv", "parse"),
}
