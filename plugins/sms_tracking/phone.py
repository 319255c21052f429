"""Phone numbers to E.164, the key of quarantine and the denylist."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

_PREFIX = re.compile(r"^(whatsapp|tel|sms|sip):", re.IGNORECASE)

E164 = r"^(?!.{17})\+[1-9][0-9]+$"
"""E.164's form: a plus, a country code that does not start with 0, at most 15 digits in all. The quality
checks match stored numbers with it and the UI checks a searched number (or its prefix) with it. The length
is a lookahead (at most 16 characters), not ``[0-9]{1,14}``: the same strings, in Postgres and in Python, but
Postgres's regex engine runs a bounded repetition half as fast (0.81 s against 0.38 s per million numbers,
three times a 1M validation: message, target, delivery log)."""
_E164 = re.compile(E164)


def is_e164(text: str | None) -> bool:
    """Whether ``text`` has E.164's form (:data:`E164`); :func:`to_e164` also checks the number is possible."""
    return text is not None and _E164.match(text) is not None


@lru_cache(maxsize=1 << 20)
def to_e164(raw: str | None, default_region: str | None = None) -> str | None:
    """E.164 form of ``raw``, or None when it is not a possible phone number.

    Channel prefixes (``whatsapp:``) are dropped. A number without ``+`` or ``00`` is read as
    national in ``default_region`` when one is set, else as international without its ``+``
    (providers such as Vonage and Infobip write ``447700900000``). Cached per text, and per number
    (:func:`_possible_e164`).
    """
    if raw is None:
        return None
    text = _PREFIX.sub("", raw.strip())
    if not text or re.search(r"[A-Za-z]", text):
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    candidates = [(text, None)] if text.startswith("+") else []
    if not candidates:
        if default_region:
            candidates.append((text, default_region))
        candidates.append(("+" + text, None))
    for number, region in candidates:
        if len(number) <= _PLAIN_MAX and _PLAIN.fullmatch(number):
            number = _SEPARATORS.sub("", number)
        if found := _possible_e164(number, region):
            return found
    return None


_PLAIN = re.compile(r"\+?[0-9](?:[ .\-]*[0-9]){2,}")
"""A number of digits and separators only, at least three digits: phonenumbers reads it as its digits alone,
so ``+33-670-169-096``, ``+33 670 169 096`` and ``33670169096`` (read with a ``+``) are parsed once."""
_PLAIN_MAX = 250
"""phonenumbers refuses a longer input, separators included."""
_SEPARATORS = re.compile(r"[ .\-]")


@lru_cache(maxsize=1 << 20)
def _possible_e164(number: str, region: str | None) -> str | None:
    """phonenumbers' E.164 form of a possible number, else None. Cached: an audience is messaged again and
    again, and parsing a number costs more than the rest of its send-log line."""
    if region is None and number.startswith("+") and number.isascii() and number[1:].isdigit():
        return _international(number)
    return _parsed(number, region)


def _parsed(number: str, region: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    return _formatted(parsed)


def _formatted(parsed: phonenumbers.PhoneNumber) -> str | None:
    if phonenumbers.is_possible_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None


def _international(number: str) -> str | None:
    """What :func:`_parsed` gives for ``+`` and ASCII digits, by the steps ``phonenumbers.parse`` takes for
    them without its search for a number in free text (two thirds of its cost). These steps are phonenumbers'
    private functions: without them, or when their signatures changed, the public parse. tests/unit/test_phone.py
    compares the two and checks the private names are there."""
    from phonenumbers import phonenumberutil as util

    try:
        extract = util._extract_country_code
        strip_prefix = util._maybe_strip_national_prefix_carrier_code
        test_length = util._test_number_length
        leading_zeros = util._set_italian_leading_zeros_for_phone_number
        shortest, longest = util._MIN_LENGTH_FOR_NSN, util._MAX_LENGTH_FOR_NSN
    except AttributeError:
        return _parsed(number, None)
    digits = number[1:]
    if len(digits) <= shortest:
        return _parsed(number, None)
    try:
        country_code, national = extract(digits)
        if country_code == 0 or len(national) < shortest:
            return None
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
            country_code, phonenumbers.region_code_for_country_code(country_code)
        )
        if metadata is not None:
            _, stripped, _ = strip_prefix(national, metadata)
            if test_length(stripped, metadata) not in _KEEP_PREFIX:
                national = stripped
        if not shortest <= len(national) <= longest:
            return None
        parsed = phonenumbers.PhoneNumber(country_code=country_code)
        leading_zeros(national, parsed)
    except (TypeError, ValueError):  # a private function whose signature or results changed
        return _parsed(number, None)
    parsed.national_number = int(national)
    return _formatted(parsed)


_KEEP_PREFIX = (
    phonenumbers.ValidationResult.TOO_SHORT,
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    phonenumbers.ValidationResult.INVALID_LENGTH,
)
"""Lengths at which ``phonenumbers.parse`` keeps a national prefix it could strip."""
