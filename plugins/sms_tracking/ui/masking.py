"""Phone-number masking for users who may not see numbers (docs/ui.md, "Permissions and masking")."""

from __future__ import annotations

import re
from datetime import datetime

MASK = "•"
# A number in free text: international (``+``, URL-encoded ``%2B`` or ``00``, then 6 to 15 digits) or a national
# run of 9 to 15 digits (spaces, dots and dashes between groups allowed). Runs glued to letters (hashes, ids
# such as ``SM1234567890``), the digits after ``date:`` / ``Date=`` (SMPP and Twilio receipt timestamps) and
# compact timestamps (``20260504101200``, see :func:`_is_timestamp`) are not numbers; nor are counts below 9 digits.
_NUMBER_IN_TEXT = re.compile(
    r"(?<![\w%])(?<!date:)(?<!date=)(?<!date: )"
    r"(?:(?:\+|%2b|00)\d(?:[ .\-]?\d){5,14}|\d(?:[ .\-]?\d){8,14})"
    r"(?![\w%])",
    re.IGNORECASE,
)


def mask_phone(phone: str | None) -> str | None:
    """Keep the country prefix and the last two digits: ``+33612345678`` -> ``+336•••••••78``."""
    if not phone:
        return phone
    if len(phone) <= 6:
        return MASK * len(phone)
    return phone[:4] + MASK * (len(phone) - 6) + phone[-2:]


def _is_timestamp(digits: str) -> bool:
    """``YYYYMMDDhhmm[ss]`` with a valid date and time (no number plan gives 12 or 14 such digits)."""
    for layout, size in (("%Y%m%d%H%M%S", 14), ("%Y%m%d%H%M", 12)):
        if len(digits) == size and digits.isdigit():
            try:
                datetime.strptime(digits, layout)
            except ValueError:
                return False
            return True
    return False


def _mask_match(match: re.Match[str]) -> str:
    found = match.group(0)
    return found if _is_timestamp(found) else mask_phone(found) or ""


def mask_text(text: str | None) -> str | None:
    """Mask every phone-like run of digits in raw provider text (receipts, samples), and nothing else."""
    if not text:
        return text
    return _NUMBER_IN_TEXT.sub(_mask_match, text)
