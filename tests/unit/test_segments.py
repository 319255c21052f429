"""GSM-7 / UCS-2 detection and segment counting (GSM 03.38), without a database."""

from __future__ import annotations

import pytest

from sms_tracking import contract, segments
from sms_tracking.reports.base import ParseContext
from sms_tracking.segments import GSM7, UCS2, profile


def test_the_tables_hold_the_gsm_03_38_characters() -> None:
    assert len(segments.GSM7_BASIC) == 127
    assert frozenset("\f^{}\\[~]|€") == segments.GSM7_EXTENSION
    assert not segments.GSM7_BASIC & segments.GSM7_EXTENSION
    assert {"@", "£", "é", "à", "Ç", "Δ", "¤", "§", "¿", "\n"} <= segments.GSM7_BASIC
    assert "\x1b" not in segments.GSM7_BASIC  # the escape is not a character of the text


@pytest.mark.parametrize(
    ("length", "expected"),
    [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_fits_160_septets_then_153_per_part(length: int, expected: int) -> None:
    found = profile("a" * length)
    assert (found.encoding, found.units, found.segments) == (GSM7, length, expected)


def test_extension_characters_take_two_septets() -> None:
    assert profile("€" * 80).units == 160
    assert profile("€" * 80).segments == 1
    assert profile("€" * 81).segments == 2
    assert profile("{[~]}").characters == 5


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 152 septets then '€' (2 septets) does not fit the first part's 153: it opens the second.
    text = "a" * 152 + "€" + "a" * 152
    assert profile(text).units == 306
    assert profile(text).segments == 3
    assert profile("a" * 151 + "€" + "a" * 153).segments == 2


@pytest.mark.parametrize(
    ("length", "expected"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_ucs2_fits_70_units_then_67_per_part(length: int, expected: int) -> None:
    found = profile("ç" + "a" * (length - 1))
    assert (found.encoding, found.units, found.segments) == (UCS2, length, expected)


def test_an_emoji_takes_two_units_and_stays_whole() -> None:
    assert profile("📦").units == 2
    assert profile("📦" * 35).segments == 1
    assert profile("📦" * 36).segments == 2
    # 66 units then an emoji: 68 would overflow the first part, so the emoji opens the second.
    assert profile("ç" * 66 + "📦" + "a" * 66).segments == 3


def test_one_character_outside_gsm7_switches_the_whole_text_to_ucs2() -> None:
    found = profile("Ça coûte 10€ 📦, ça coûte!")
    assert found.encoding == UCS2
    assert found.non_gsm7 == "û📦ç"  # distinct, in order of appearance; Ç is GSM, ç is not
    assert found.characters == 25


def test_segments_if_gsm7_says_what_ucs2_costs() -> None:
    found = profile("a" * 100 + "ê")
    assert (found.segments, found.segments_if_gsm7) == (2, 1)
    plain = profile("a" * 100 + "e")
    assert (plain.segments, plain.segments_if_gsm7, plain.non_gsm7) == (1, 1, "")


def test_the_delivery_reader_records_the_content_profile() -> None:
    lines = [
        (1, "delivery_id,name,content,provider,created_at"),
        (2, 'D1,Promo,"Votre colis 📦 https://shop.example.com/t",twilio,2026-05-04T08:00:00Z'),
    ]
    [record] = list(contract.PARSERS["deliveries"](lines, ParseContext(source="campaign", provider="*")))
    assert isinstance(record, contract.Delivery)
    assert (record.encoding, record.content_length, record.content_units, record.segments_per_message) == (
        UCS2,
        40,
        41,
        1,
    )
    assert (record.segments_if_gsm7, record.non_gsm7_characters) == (1, "📦")
    assert record.tracked_urls == (
        '[{"position": 1, "url": "https://shop.example.com/t", "label": "Votre colis", "is_opt_out": false}]'
    )
