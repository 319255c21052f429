"""Phone numbers to E.164, the key of quarantine and the denylist."""

from __future__ import annotations

import re
from functools import lru_cache, partial

import phonenumbers

from sms_tracking.memo import Memo

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


def to_e164(raw: str | None, default_region: str | None = None) -> str | None:
    """E.164 form of ``raw``, or None when it is not a possible phone number.

    Channel prefixes (``whatsapp:``) are dropped. A number without ``+`` or ``00`` is read as
    national in ``default_region`` when one is set, else as international without its ``+``
    (providers such as Vonage and Infobip write ``447700900000``). Cached per text (:data:`_KNOWN`), and
    per number (:func:`_possible_e164`).
    """
    return _KNOWN[default_region][raw]


def _texts(default_region: str | None) -> Memo[str | None, str | None]:
    """The E.164 form of each text met with that default region. A memo rather than an lru_cache: a send log meets
    each number again and again, and a hit in a cache of a million numbers cost 2.3 µs (its key tuple and its list
    kept in use order miss the processor's cache), a dict's 1.1 µs (issue 19)."""
    return Memo(partial(_read, default_region=default_region), _KNOWN_MAX)


_KNOWN: Memo[str | None, Memo[str | None, str | None]] = Memo(_texts, 1 << 8)
"""The texts met, per default region (a few: the settings' and the sources')."""
_KNOWN_MAX = 1 << 20
"""Texts kept per region: when full, the region's memo starts again."""


def _read(raw: str | None, default_region: str | None) -> str | None:
    """:func:`to_e164` without its cache."""
    if raw is None:
        return None
    text = raw.strip()
    if text[:1] == "+" and len(text) <= _PLAIN_MAX and _PLAIN.fullmatch(text):
        # Most numbers: an international one of digits and separators, where the steps below come to this (without
        # _possible_e164's cache: this one holds the answer, and reading the number again costs no more).
        return _international(_SEPARATORS.sub("", text))
    text = _PREFIX.sub("", text)
    if not text or _LETTER.search(text):
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
_LETTER = re.compile(r"[A-Za-z]")


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
    """What :func:`_parsed` gives for ``+`` and ASCII digits. Most numbers are their own E.164 form or not a
    possible number whatever their digits after the country code: when the national part has no leading zero
    and no national prefix to strip, the answer is the plan of its first three digits and length
    (:func:`_plan`); the others take :func:`_stepwise`. A fifth of its cost (issue 19)."""
    digits = number[1:]
    plan = _PLANS.get((digits[:3], len(digits)))
    if plan is None:
        plan = _PLANS[digits[:3], len(digits)] = _plan(digits)
    if plan is not _STEPWISE:
        code_length, prefix, possible = plan
        national = digits[code_length:]
        if national[0] != "0" and (prefix is None or prefix.match(national) is None):
            return number if possible else None
    return _stepwise(number)


_Plan = tuple[int, re.Pattern[str] | None, bool]
_STEPWISE: _Plan = (-1, None, False)
"""The plan of the numbers that :func:`_stepwise` reads one by one (compared by identity)."""
_PLANS: dict[tuple[str, int], _Plan] = {}
"""The plan of each first three digits and length met: a few thousand at most."""


def _plan(digits: str) -> _Plan:
    """For the digits of a number after its ``+``, what :func:`_stepwise` does with any number of the same first
    three digits (its country code) and length whose national part has no leading zero and does not match the
    country's national prefix: (length of the country code, that prefix's pattern, whether the number is
    possible, then being its own E.164 form). :data:`_STEPWISE` when that depends on more."""
    from phonenumbers import phonenumberutil as util
    from phonenumbers.re_util import re_compile

    try:
        shortest, longest = util._MIN_LENGTH_FOR_NSN, util._MAX_LENGTH_FOR_NSN
        if len(digits) <= shortest:
            return _STEPWISE
        country_code, national = util._extract_country_code(digits)
        if country_code == 0 or len(national) < shortest:
            return (0, None, False)
        if len(national) > longest:  # stripping a national or carrier prefix may still leave a possible number
            return _STEPWISE
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
            country_code, phonenumbers.region_code_for_country_code(country_code)
        )
        if metadata is None:
            return _STEPWISE
        prefix = metadata.national_prefix_for_parsing
        example = phonenumbers.PhoneNumber(country_code=country_code, national_number=int("1" * len(national)))
        return (
            len(digits) - len(national),
            re_compile(prefix) if prefix else None,
            phonenumbers.is_possible_number(example),
        )
    except (AttributeError, TypeError, ValueError):  # a private name gone, or a signature changed
        return _STEPWISE


def _stepwise(number: str) -> str | None:
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
