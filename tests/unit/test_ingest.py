"""ingest.py without a database: lines read a block at a time, and report rows."""

from __future__ import annotations

import codecs
import io
from datetime import UTC, datetime

import pytest

from sms_tracking import ingest
from sms_tracking.reports.base import Reject, Report


def _read(data: bytes) -> list[object]:
    return [
        (item.position, item.raw_text, item.reason) if isinstance(item, Reject) else item
        for item in ingest.decode_lines(io.BytesIO(data))
    ]


@pytest.mark.parametrize("block", [1, 2, 3, 7, 1 << 16])
def test_lines_are_the_same_whatever_the_block_size(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    monkeypatch.setattr(ingest, "LINE_BLOCK", block)
    monkeypatch.setattr(ingest, "MAX_LINE_BYTES", 12)
    data = (
        codecs.BOM_UTF8
        + b"caf\xc3\xa9\r\n"  # the BOM goes, CRLF is a newline
        + b"\n"
        + b"bad \xff byte\n"  # not UTF-8: rejected alone
        + b"x" * 30  # too long: rejected without the rest of its line
        + b"\n"
        + b"exactly 12 b\n"  # the longest line that is kept
        + b"one\rtwo\r\r\n"
        + b"\xef\xbb\xbfkept"  # a BOM after line 1 is text; the last line needs no newline
    )
    assert _read(data) == [
        (1, "café"),
        (2, ""),
        (3, "bad \xff byte", "not UTF-8 (byte 4: invalid start byte)"),  # kept as Latin-1 in the reject
        (4, "x" * 13, "line longer than 12 bytes"),
        (5, "exactly 12 b"),
        (6, "one\rtwo"),
        (7, "\ufeffkept"),
    ]


def test_a_report_row_replaces_nul_in_the_provider_texts_only() -> None:
    at = datetime(2026, 5, 4, tzinfo=UTC)
    report = Report("twilio", "SM1", "deli\x00vered", None, at, 3, '{"status": "deli\\u0000vered"}', phone="+33\x00")
    row = ingest._report_row(report, 7, at)
    assert row[2] == "deli\ufffdvered" and row[8] == "+33\ufffd" and row[13] == report.raw_text
    assert ingest._report_row(Report("twilio", "SM1", "delivered", None, at, 3, "x"), 7, at)[2] == "delivered"


@pytest.mark.parametrize("field", ["raw_status", "raw_error", "phone", "sender", "raw_text", "parse_warning"])
def test_a_nul_in_any_provider_text_of_a_report_is_replaced(field: str) -> None:
    at = datetime(2026, 5, 4, tzinfo=UTC)
    report = Report("twilio", "SM1", "delivered", "30007", at, 3, "x", phone="+33", sender="Shop", parse_warning="w")
    setattr(report, field, getattr(report, field) + "\x00")
    row = ingest._report_row(report, 7, at)
    column = ingest._REPORT_COLUMNS.index("phone_raw" if field == "phone" else field)
    assert row[column] == getattr(report, field).replace("\x00", "\ufffd")
    assert [i for i, value in enumerate(row) if isinstance(value, str) and "\x00" in value] == []
    assert row[4] == ("30007\ufffd" if field == "raw_error" else "30007")  # the raw error's code, cleaned as it is
