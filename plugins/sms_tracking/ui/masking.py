"""Phone-number masking for users who may not see numbers (docs/ui.md, "Permissions and masking")."""

from __future__ import annotations

import re

MASK = "•"
# A number in free text: E.164, URL-encoded E.164 (Twilio's To=%2B...) or a bare run of 7+ digits.
_NUMBER_IN_TEXT = re.compile(r"(?:\+|%2[bB])?\d[\d ]{5,}\d")


def mask_phone(phone: str | None) -> str | None:
    """Keep the country prefix and the last two digits: ``+33612345678`` -> ``+336•••••••78``."""
    if not phone:
        return phone
    if len(phone) <= 6:
        return MASK * len(phone)
    return phone[:4] + MASK * (len(phone) - 6) + phone[-2:]


def mask_text(text: str | None) -> str | None:
    """Mask every phone-like run of digits in raw provider text (receipts, samples)."""
    if not text:
        return text
    return _NUMBER_IN_TEXT.sub(lambda m: mask_phone(m.group(0)) or "", text)
