"""Bad inputs (issue #8): each kind is handled by rule, every line read is stored, rejected with a reason or
counted as a duplicate (a CSV header is the one line that is none of these), and the good lines load."""

from __future__ import annotations

import codecs
import gzip
import json
import random
import resource
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from sms_tracking import pipeline
from sms_tracking.ingest import MAX_LINE_BYTES

pytestmark = pytest.mark.integration

SOURCES_YAML = """sources:
  - {name: smpp_main, provider: smpp, format: smpp, path: reports/smpp_main, tz: Europe/Paris}
  - {name: twilio_api, provider: twilio, format: twilio_json, path: reports/twilio_api}
  - {name: twilio_csv, provider: twilio, format: twilio_csv, path: reports/twilio_csv}
"""
SMPP3 = "".join(
    f"id:B{i} sub:001 dlvrd:001 submit date:2605041000 done date:2605041012 stat:DELIVRD err:000 text:Café {i}\n"
    for i in range(3)
)
JSONL = "".join(
    f'{{"sid": "SM{i}", "status": "delivered", "to": "+33612345678", "date_updated": "2026-05-04T09:10:00Z"}}\n'
    for i in range(3)
)
CSV_HEADER = "id,status,to,error_code,updated_at\n"
CSV_ROW = "SM{i},delivered,+33612345678,,2026-05-04 09:10:00.000000 UTC\n"


@dataclass(frozen=True)
class Case:
    """One bad input: where it lands, its bytes, what must load and why lines are rejected."""

    kind: str
    source: str
    name: str
    data: bytes
    loaded: int
    rejects: dict[str, int]


def _gzip_truncated() -> bytes:
    packed = gzip.compress(("".join(SMPP3.replace("id:B", f"id:G{n}-") for n in range(2000))).encode())
    return packed[: len(packed) // 2]


def _complete_lines(packed: bytes) -> int:
    """Whole lines a decompressor recovers from a truncated gzip: the expected loaded count."""
    return zlib.decompressobj(wbits=31).decompress(packed).count(b"\n")


CASES = [
    Case("empty file", "smpp_main", "empty.txt", b"", 0, {}),
    Case("blank lines only", "smpp_main", "blank.txt", b"\n\r\n  \n", 0, {}),
    Case("binary garbage", "smpp_main", "garbage.bin", b"\x00\x01" + random.Random(8).randbytes(4000), 0, {"*": -1}),
    Case(
        "Latin-1 line among UTF-8",
        "smpp_main",
        "latin1.txt",
        SMPP3.encode() + "id:B9 stat:DELIVRD text:Café\n".encode("latin-1"),
        3,
        {"not UTF-8": 1},
    ),
    Case("UTF-8 with BOM", "smpp_main", "bom8.txt", codecs.BOM_UTF8 + SMPP3.encode(), 3, {}),
    Case(
        "UTF-16 LE with BOM",
        "smpp_main",
        "bom16le.txt",
        SMPP3.encode("utf-16-le").join([codecs.BOM_UTF16_LE, b""]),
        3,
        {},
    ),
    Case(
        "UTF-16 BE with BOM",
        "smpp_main",
        "bom16be.txt",
        SMPP3.encode("utf-16-be").join([codecs.BOM_UTF16_BE, b""]),
        3,
        {},
    ),
    Case(
        "UTF-16 with an odd byte at the end",
        "smpp_main",
        "odd16.txt",
        codecs.BOM_UTF16_LE + SMPP3.encode("utf-16-le") + b"\x00",
        3,
        {"invalid UTF-16": 1},
    ),
    Case(
        "truncated gzip",
        "smpp_main",
        "cut.txt.gz",
        _gzip_truncated(),
        _complete_lines(_gzip_truncated()),
        {"truncated or corrupt": 1},
    ),
    Case("gzip name, not gzip", "smpp_main", "fake.txt.gz", SMPP3.encode(), 0, {"truncated or corrupt": 1}),
    Case(
        "CSV without a required column",
        "twilio_csv",
        "nostatus.csv",
        b"id,to\nSM1,+33612345678\nSM2,+33612345678\n",
        0,
        {"header has no status column": 3},
    ),
    Case(
        "CSV rows with missing and extra fields",
        "twilio_csv",
        "fields.csv",
        (
            CSV_HEADER
            + CSV_ROW.format(i=1)
            + "SM2,delivered\n"
            + CSV_ROW.format(i=3).rstrip("\n")
            + ",x,y\n"
            + CSV_ROW.format(i=4)
        ).encode(),
        2,
        {"fields, header has 5": 2},
    ),
    Case(
        "CSV with extra and missing optional columns",
        "twilio_csv",
        "optional.csv",
        b"id,status,extra\nSM1,delivered,x\nSM2,failed,y\n",
        2,
        {},
    ),
    Case(
        "JSON lines with a broken line in the middle",
        "twilio_api",
        "broken.jsonl",
        (JSONL + '{"sid": "SM9", "status": \n' + JSONL.replace("SM", "SX")).encode(),
        6,
        {"*": 1},
    ),
    Case(
        "JSON line that is not an object", "twilio_api", "array.jsonl", (JSONL + "[1, 2]\n42\n").encode(), 3, {"*": 2}
    ),
]


@pytest.fixture
def landing(make_landing: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__MAX_REJECT_RATE", "1")  # count every kind (threshold tested elsewhere)
    return make_landing(sources=SOURCES_YAML)


def load_one(dsn: str, landing: Path, source: str, name: str, data: bytes) -> dict[str, object]:
    folder = landing / "reports" / source
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    [uri] = pipeline.pending_objects(source, dsn)
    return pipeline.load(source, uri, dsn=dsn)


def stored(dsn: str, object_id: object) -> tuple[int, Counter[str]]:
    with psycopg.connect(dsn) as conn:
        reports = conn.execute("SELECT count(*) FROM sms_tracking.report WHERE object_id = %s", (object_id,)).fetchone()
        reasons = conn.execute("SELECT reason FROM sms_tracking.reject WHERE object_id = %s", (object_id,)).fetchall()
    return int(reports[0]), Counter(reason for (reason,) in reasons)  # type: ignore[index]


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
def test_bad_input_is_handled_by_rule_and_every_line_is_accounted_for(dsn: str, landing: Path, case: Case) -> None:
    result = load_one(dsn, landing, case.source, case.name, case.data)
    reports, reasons = stored(dsn, result["object_id"])
    assert result["status"] == "loaded"
    # Records read = stored + rejected + duplicates (a CSV header line is not a record).
    assert result["rows_read"] == reports + sum(reasons.values()) + result["rows_duplicate"]
    assert result["rows_loaded"] == reports and result["rows_rejected"] == sum(reasons.values())
    assert reports == case.loaded
    for reason, count in case.rejects.items():
        matching = sum(n for text, n in reasons.items() if reason == "*" or reason in text)
        assert matching == (sum(reasons.values()) if count < 0 else count), reasons
        assert matching > 0
    if not case.rejects:
        assert not reasons


def test_a_100_mb_single_line_is_rejected_in_bounded_memory(dsn: str, landing: Path) -> None:
    folder = landing / "reports" / "smpp_main"
    folder.mkdir(parents=True)
    block = b"x" * (1 << 20)
    with (folder / "huge.txt").open("wb") as out:
        out.write(SMPP3.encode())
        for _ in range(100):
            out.write(block)
        out.write(b"\n" + SMPP3.encode().replace(b"id:B", b"id:C"))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    [uri] = pipeline.pending_objects("smpp_main", dsn)
    result = pipeline.load("smpp_main", uri, dsn=dsn)
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    reports, reasons = stored(dsn, result["object_id"])
    assert reports == 6 and result["rows_read"] == 7
    assert reasons == Counter({f"line longer than {MAX_LINE_BYTES} bytes": 1})
    assert growth_mb < 200, f"peak memory grew by {growth_mb:.0f} MB"


PHONES = {
    # raw number in the send log: E.164 stored (default region FR), None = kept raw, not matchable
    "+33612345678": "+33612345678",
    "0612345679": "+33612345679",
    "06 12 34 56 80": "+33612345680",
    "+33 6 12-34-56-81": "+33612345681",
    "0033612345682": "+33612345682",
    "whatsapp:+33612345683": "+33612345683",
    "(06) 12.34.56.84": "+33612345684",
    "06 12 AB 56 85": None,
    "12": None,
}


def test_numbers_in_every_format_are_normalised_by_rule(
    dsn: str, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__DEFAULT_REGION", "FR")
    sends = "delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at,segments\n" + "".join(
        f'D1,r{i},"{raw}",smpp,P{i},2026-05-04T08:00:00Z,1\n' for i, raw in enumerate(PHONES)
    )
    (landing / "sends").mkdir()
    (landing / "sends" / "sends.csv").write_text(sends, encoding="utf-8")
    [uri] = pipeline.pending_objects("campaign", dsn)
    result = pipeline.load("campaign", uri, dsn=dsn)
    with psycopg.connect(dsn) as conn:
        rows = dict(conn.execute("SELECT phone_raw, phone_e164 FROM sms_tracking.message").fetchall())
    assert result["rows_read"] == len(PHONES)
    assert rows == PHONES


def test_nul_characters_are_stored_as_replacement_characters(dsn: str, landing: Path) -> None:
    """Postgres text holds no NUL: a NUL written in a contract file or escaped in a provider's JSON is stored
    as U+FFFD, and the rest of the value is kept."""
    (landing / "targets").mkdir()
    (landing / "targets" / "targets.csv").write_bytes(b"delivery_id,recipient_id,phone\nD1,r\x001,+33612345678\n")
    [uri] = pipeline.pending_objects("campaign", dsn)
    assert pipeline.load("campaign", uri, dsn=dsn)["rows_loaded"] == 1
    report = (
        '{"sid": "SM1", "status": "deli\\u0000vered", "to": "+33612345678", "from": "Shop\\u0000Ex", '
        '"error_code": "3000\\u00007"}\n'
    )
    result = load_one(dsn, landing, "twilio_api", "nul.jsonl", report.encode())
    assert result["rows_loaded"] == 1
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT recipient_id FROM sms_tracking.target").fetchall() == [("r\ufffd1",)]
        stored_report = conn.execute(
            "SELECT raw_status, sender, raw_error, error_code, raw_text FROM sms_tracking.report"
        ).fetchone()
    assert stored_report == ("deli\ufffdvered", "Shop\ufffdEx", "3000\ufffd7", "3000\ufffd7", report.rstrip("\n"))


def test_a_send_whose_segments_are_not_an_int4_is_rejected_and_the_others_load(dsn: str, landing: Path) -> None:
    """A count past the message column's integer, or a digit that int() does not read, is a reject at its
    line, not an error that aborts the COPY of the whole file."""
    sends = (
        "delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at,segments\n"
        "D1,r1,+33612345678,smpp,P1,2026-05-04T08:00:00Z,2\n"
        "D1,r2,+33612345679,smpp,P2,2026-05-04T08:00:00Z,99999999999\n"
        "D1,r3,+33612345680,smpp,P3,2026-05-04T08:00:00Z,²\n"
        "D1,r4,+33612345681,smpp,P4,2026-05-04T08:00:00Z,2147483647\n"
    )
    (landing / "sends").mkdir()
    (landing / "sends" / "sends.csv").write_text(sends, encoding="utf-8")
    [uri] = pipeline.pending_objects("campaign", dsn)
    result = pipeline.load("campaign", uri, dsn=dsn)
    with psycopg.connect(dsn) as conn:
        loaded = conn.execute("SELECT recipient_id, segments FROM sms_tracking.message ORDER BY 1").fetchall()
        rejects = conn.execute(
            "SELECT position, reason FROM sms_tracking.reject WHERE object_id = %s ORDER BY 1", (result["object_id"],)
        ).fetchall()
    assert result["status"] == "loaded" and result["rows_loaded"] == 2 and result["rows_rejected"] == 2
    assert loaded == [("r1", 2), ("r4", 2147483647)]
    assert rejects == [
        (3, "segments 99999999999 is out of range (at most 2147483647)"),
        (4, "segments '²' is not a positive integer"),
    ]


def test_a_report_whose_price_or_segments_do_not_fit_is_rejected_and_the_others_load(dsn: str, landing: Path) -> None:
    """The load's own range test of a report or an inbound message (whatever adapter made it): a price past
    numeric(12, 5) or a segment count past int4 is a reject at its line, the price named first, not an aborted COPY."""
    lines = [
        {"sid": "SM1", "status": "delivered", "price": "-0.015", "num_segments": "2"},
        {"sid": "SM2", "status": "delivered", "price": "-1e9", "num_segments": "2"},
        {"sid": "SM3", "status": "delivered", "price": "-0.015", "num_segments": "99999999999"},
        {"sid": "SM4", "status": "delivered", "price": "1e9", "num_segments": "99999999999"},
        {"sid": "SM5", "status": "delivered", "price": "-9999999.99999", "num_segments": "2147483647"},
        {"sid": "SM6", "status": "received", "from": "+447700900123", "price": "-1e9", "num_segments": "1"},
        {"sid": "SM7", "status": "received", "from": "+447700900123", "price": "-0.0075", "num_segments": "1"},
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    result = load_one(dsn, landing, "twilio_api", "range.jsonl", data)
    with psycopg.connect(dsn) as conn:
        loaded = conn.execute("SELECT provider_message_id FROM sms_tracking.report ORDER BY 1").fetchall()
        inbound = conn.execute("SELECT provider_message_id FROM sms_tracking.inbound_message ORDER BY 1").fetchall()
        rejects = conn.execute(
            "SELECT position, reason FROM sms_tracking.reject WHERE object_id = %s ORDER BY 1", (result["object_id"],)
        ).fetchall()
    assert loaded == [("SM1",), ("SM5",)]
    assert inbound == [("SM7",)]
    assert rejects == [
        (2, "price 1E+9 is out of range (|price| < 10000000)"),
        (3, "segments 99999999999 is out of range"),
        (4, "price 1E+9 is out of range (|price| < 10000000)"),
        (6, "price 1E+9 is out of range (|price| < 10000000)"),
    ]
