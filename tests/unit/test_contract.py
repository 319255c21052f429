"""The contract readers build each row as a tuple in the order of their record's fields: each value must land
in the field of its name (records built by keyword below), and every reader is covered."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from sms_tracking.contract import PARSERS
from sms_tracking.reports.base import ParseContext

T1, T2 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC), datetime(2026, 5, 5, 9, 30, tzinfo=UTC)
CONTENT = "😀" + "a" * 69
"""A content whose profile numbers all differ (70 characters, 71 units, 2 segments, 1 if GSM-7)."""

# kind: (CSV, the record's field values by name)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "deliveries": (
        "delivery_id,name,sender,content,provider,created_at,scheduled_at,is_proof\n"
        f"D1,Spring,Shop,{CONTENT},SMPP,2026-05-04T08:00:00Z,2026-05-05T09:30:00Z,true\n",
        {
            "delivery_id": "D1",
            "name": "Spring",
            "sender": "Shop",
            "content": CONTENT,
            "provider": "smpp",
            "created_at": T1,
            "scheduled_at": T2,
            "is_proof": True,
            "encoding": "UCS-2",
            "content_length": 70,
            "content_units": 71,
            "segments_per_message": 2,
            "segments_if_gsm7": 1,
            "non_gsm7_characters": "😀",
            "tracked_urls": "[]",
        },
    ),
    "targets": (
        "delivery_id,recipient_id,phone\nD1,r1,0612345678\n",
        {"delivery_id": "D1", "recipient_id": "r1", "phone_raw": "0612345678", "phone_e164": "+33612345678"},
    ),
    "sends": (
        "delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at,segments\n"
        "D1,r1,0612345678,SMPP,P1,2026-05-04T08:00:00Z,3\n",
        {
            "provider": "smpp",
            "provider_message_id": "P1",
            "delivery_id": "D1",
            "recipient_id": "r1",
            "phone_raw": "0612345678",
            "phone_e164": "+33612345678",
            "submitted_at": T1,
            "segments": 3,
        },
    ),
    "clicks": (
        "delivery_id,recipient_id,tracking_token,url,clicked_at,user_agent,method\n"
        "D1,r1,tok,https://x.example/a,2026-05-04T08:00:00Z,Mozilla,post\n",
        {
            "delivery_id": "D1",
            "recipient_id": "r1",
            "tracking_token": "tok",
            "url": "https://x.example/a",
            "clicked_at": T1,
            "user_agent": "Mozilla",
            "method": "POST",
            "position": 2,
        },
    ),
    "inbound": (
        "provider,provider_message_id,phone,recipient,text,received_at\n"
        "SMPP,M1,+33612345678,36111,STOP,2026-05-04T08:00:00Z\n",
        {
            "provider": "smpp",
            "provider_message_id": "M1",
            "phone": "+33612345678",
            "recipient": "36111",
            "text": "STOP",
            "received_at": T1,
            "position": 2,
        },
    ),
}


def test_every_reader_is_covered() -> None:
    assert set(CASES) == set(PARSERS)


@pytest.mark.parametrize("kind", CASES)
def test_each_value_of_a_reader_lands_in_the_field_of_its_name(kind: str) -> None:
    text, expected = CASES[kind]
    reader = PARSERS[kind]
    ctx = ParseContext(source="campaign", provider="*", options={"default_region": "FR"})
    [row] = list(reader.rows(enumerate(text.splitlines(keepends=True), 1), ctx))
    names = [field.name for field in dataclasses.fields(reader.record)]
    by_name = dict(zip(names, row, strict=False))
    assert len(row) <= len(names)
    assert set(names[: len(row)]) - set(expected) <= {"click_key"}  # every value is checked (the key is a hash)
    assert {name: by_name.get(name) for name in expected} == expected
