"""SMS encoding and segment counting (GSM 03.38 / 3GPP TS 23.038), for the delivery's content profile.

A text is sent in GSM-7 when every character is in the GSM basic table or its extension table (an
extension character costs two septets: escape + code); one character outside them switches the whole
message to UCS-2. A single SMS holds 160 septets or 70 UCS-2 code units; a concatenated one loses
the user-data header to each part, leaving 153 septets or 67 code units, and providers never split an
escape pair or a UTF-16 surrogate pair across two parts.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
"""The 127 characters of the GSM 03.38 basic table (the escape code 0x1B is not a character)."""

GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
"""The characters of the default extension table: each is sent as escape + code, two septets."""

GSM7 = "GSM-7"
UCS2 = "UCS-2"

SINGLE_LIMIT = {GSM7: 160, UCS2: 70}
"""Units (septets, UTF-16 code units) one unconcatenated SMS holds."""

PART_LIMIT = {GSM7: 153, UCS2: 67}
"""Units each part of a concatenated SMS holds (the 6-byte user-data header takes the rest)."""


@dataclass(frozen=True, slots=True)
class ContentProfile:
    """How a text travels: its encoding, its size in that encoding and the parts it takes."""

    encoding: str
    characters: int
    """Unicode characters, as a person counts them (an emoji is one)."""
    units: int
    """Septets for GSM-7 (extension characters count two), UTF-16 code units for UCS-2."""
    segments: int
    segments_if_gsm7: int
    """Parts the text would take if each character outside GSM-7 were a basic GSM character: the
    difference with ``segments`` is what UCS-2 costs per message."""
    non_gsm7: str
    """The distinct characters that force UCS-2, in order of first appearance (empty for GSM-7)."""


def gsm7_width(char: str) -> int | None:
    """Septets a character takes in GSM-7, or None when GSM-7 cannot carry it."""
    if char in GSM7_BASIC:
        return 1
    if char in GSM7_EXTENSION:
        return 2
    return None


def ucs2_width(char: str) -> int:
    """UTF-16 code units of a character: two for one outside the Basic Multilingual Plane (emoji)."""
    return 2 if ord(char) > 0xFFFF else 1


def count_segments(widths: list[int], encoding: str) -> int:
    """Parts needed for characters of these widths, never splitting one character across two parts."""
    total = sum(widths)
    if total <= SINGLE_LIMIT[encoding]:
        return 1
    limit = PART_LIMIT[encoding]
    parts, used = 1, 0
    for width in widths:
        if used + width > limit:
            parts, used = parts + 1, 0
        used += width
    return parts


def profile(content: str) -> ContentProfile:
    """The encoding, size and segment count of an SMS text (an empty text still takes one SMS)."""
    gsm_widths = [gsm7_width(char) for char in content]
    non_gsm = "".join(dict.fromkeys(char for char, width in zip(content, gsm_widths, strict=True) if width is None))
    as_gsm = [width or 1 for width in gsm_widths]
    if not non_gsm:
        segments = count_segments(as_gsm, GSM7)
        return ContentProfile(GSM7, len(content), sum(as_gsm), segments, segments, "")
    ucs2 = [ucs2_width(char) for char in content]
    return ContentProfile(
        UCS2, len(content), sum(ucs2), count_segments(ucs2, UCS2), count_segments(as_gsm, GSM7), non_gsm
    )
