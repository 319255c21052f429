"""Which clicks count as human on the Tracking tab, aggregated from the raw click table.

The bot list has one home, ``sms_tracking.tracking.BOT_USER_AGENTS`` (plus
``SMS_TRACKING_BOT_USER_AGENTS``); this module only adds the probing methods and turns both into
SQL parameters.
"""

from __future__ import annotations

from typing import Any

from sms_tracking.tracking import TrackingSettings
from sms_tracking.ui.params import like_contains

NON_HUMAN_METHODS: tuple[str, ...] = ("HEAD",)
"""HTTP methods that only probe a link (prefetchers, link checkers)."""


def bot_tokens() -> list[str]:
    return list(TrackingSettings.from_env().bot_user_agents)


def human_params() -> dict[str, Any]:
    """Parameters of the ``human`` expression in ``include/sql/ui/*.sql``: not a probe, no bot token."""
    return {
        "non_human_methods": list(NON_HUMAN_METHODS),
        "bot_likes": [like_contains(token.lower()) for token in bot_tokens()],
    }
