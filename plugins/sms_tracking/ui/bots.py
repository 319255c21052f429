"""Which clicks count as human on the Tracking tab, aggregated from the raw click table.

The bot list and the probing methods have one home, ``sms_tracking.tracking`` (``BOT_USER_AGENTS``
plus the ``bot_user_agents`` option, ``PROBE_METHODS``); this module turns them into SQL parameters.
Where the build flagged the clicks (``tracking_log.is_bot``), the UI reads its flag instead.
"""

from __future__ import annotations

from typing import Any

from sms_tracking.settings import get_settings
from sms_tracking.tracking import PROBE_METHODS, bot_user_agents
from sms_tracking.ui.params import like_contains


def bot_tokens() -> list[str]:
    return list(bot_user_agents(get_settings()))


def human_params() -> dict[str, Any]:
    """Parameters of the ``human`` expression in ``include/sql/ui/*.sql``: not a probe, no bot token."""
    return {
        "non_human_methods": list(PROBE_METHODS),
        "bot_likes": [like_contains(token.lower()) for token in bot_tokens()],
    }
