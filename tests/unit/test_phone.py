"""phone.py: the shortcut for ``+`` and digits gives what phonenumbers' own parse gives."""

from __future__ import annotations

import random
import sys

import pytest
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, phonenumberutil

from sms_tracking import phone


def _international_numbers() -> list[str]:
    """Every country code with national parts of every length (0-21 digits: past phonenumbers' longest, 17, a
    national or carrier prefix may still be stripped to a possible number), plus digits after no code: several
    of each, so that the plan made for the first is used for the others."""
    draw = random.Random(19)
    numbers = [
        f"+{code}{''.join(draw.choice('0123456789') for _ in range(length))}"
        for code in COUNTRY_CODE_TO_REGION_CODE
        for length in range(0, 22)
        for _ in range(6)
    ]
    # Found by review: too long before their prefix is stripped, possible after.
    numbers += ["+82085818310863792692", "+62021980552598431833", "+81077386097824138697"]
    numbers += [f"+{''.join(draw.choice('0123456789') for _ in range(draw.randint(1, 19)))}" for _ in range(20_000)]
    return numbers


def test_the_shortcut_gives_the_parse_result_for_every_country_and_length(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phone, "_PLANS", {})
    numbers = _international_numbers()
    differ = [(n, phone._international(n), phone._parsed(n, None)) for n in numbers]
    differ = [d for d in differ if d[1] != d[2]]
    assert differ == []
    # The corpus holds impossible numbers, possible ones, and ones whose national prefix is dropped.
    found = {n: phone._international(n) for n in numbers}
    assert None in found.values()
    assert sum(e is not None for e in found.values()) > 5_000
    assert sum(e is not None and e != n for n, e in found.items()) > 100
    # Most numbers were answered by a plan, and the step-by-step reading gives the same for them.
    assert sum(plan is not phone._STEPWISE for plan in phone._PLANS.values()) > 5_000
    assert [n for n in numbers if phone._stepwise(n) != found[n]] == []


PRIVATE = (
    "_extract_country_code",
    "_maybe_strip_national_prefix_carrier_code",
    "_test_number_length",
    "_set_italian_leading_zeros_for_phone_number",
    "_MIN_LENGTH_FOR_NSN",
    "_MAX_LENGTH_FOR_NSN",
)
"""The private names of phonenumbers the shortcut uses: without one it falls back to the public parse silently,
so the comparison above would pass with no shortcut left."""


def test_the_private_names_of_the_shortcut_exist() -> None:
    assert [name for name in PRIVATE if not hasattr(phonenumberutil, name)] == []


@pytest.mark.parametrize("name", PRIVATE[:4])
@pytest.mark.parametrize("error", [TypeError, ValueError])
def test_a_private_function_that_changed_falls_back_to_the_public_parse(
    name: str, error: type[Exception], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = getattr(phonenumberutil, name)

    def changed(*args: object) -> object:
        """Changed as the shortcut calls it; the public parse, which calls it too, keeps the original."""
        if sys._getframe(1).f_code in (phone._stepwise.__code__, phone._plan.__code__):
            raise error("changed")
        return original(*args)

    monkeypatch.setattr(phonenumberutil, name, changed)
    monkeypatch.setattr(phone, "_PLANS", {})
    for number in ("+33670169096", "+390612345678", "+5491123456789", "+999123456"):
        assert phone._international(number) == phone._parsed(number, None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+33670169096", "+33670169096"),
        ("+33-670-169-096", "+33670169096"),
        ("33670169096", "+33670169096"),
        ("+390612345678", "+390612345678"),  # Italy keeps its leading zero
        ("+5491123456789", "+5491123456789"),
        ("+1", None),
        ("+0033670169096", None),
        ("+999123456", None),  # no such country code
        ("+٣٣٦٧٠١٦٩٠٩٦", "+33670169096"),  # Arabic-Indic digits: the public parse reads them
    ],
)
def test_to_e164(raw: str, expected: str | None) -> None:
    assert phone.to_e164(raw) == expected
    assert phone._parsed(phone._SEPARATORS.sub("", raw) if raw.startswith("+") else "+" + raw, None) == expected


def test_an_international_number_with_separators_reads_as_phonenumbers_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The shortcut of to_e164 for ``+``, digits and separators (a fresh cache: it is what answers)."""
    draw = random.Random(3)
    raws = ["+" + "".join(draw.choice("0123456789 .-") for _ in range(draw.randint(1, 18))) for _ in range(5_000)]
    raws += ["+33 6 70 16 90 96", "+33.670.169.096", "+39 06 1234 5678", "+44 020 7946 0958", " +1 415-555-2671 "]
    monkeypatch.setattr(phone, "_KNOWN", phone.Memo(phone._texts, 8))
    assert [(raw, phone.to_e164(raw)) for raw in raws] == [(raw, phone._parsed(raw.strip(), None)) for raw in raws]
    assert sum(phone.to_e164(raw) is not None for raw in raws) > 1_000


def test_the_cache_keeps_each_region_apart_and_starts_again_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phone, "_KNOWN", phone.Memo(phone._texts, 8))
    monkeypatch.setattr(phone, "_KNOWN_MAX", 2)
    assert phone.to_e164("0612345678", "FR") == "+33612345678"
    assert phone.to_e164("0612345678") is None  # international without its +: +0... is no number
    assert phone.to_e164("0612345678", "FR") == "+33612345678"
    assert phone.to_e164("33612345678", "FR") == "+33612345678"  # not national in France: international
    assert phone.to_e164("447700900000", "FR") == "+447700900000"
    assert phone._KNOWN["FR"] == {"447700900000": "+447700900000"}  # full at two texts: started again
    assert phone._KNOWN[None] == {"0612345678": None}
    assert phone.to_e164(None) is None
