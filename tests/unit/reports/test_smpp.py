"""Tests of the ``smpp`` adapter and its deliver_sm decoder.

The 21 cases of tests/samples/smpp_receipts come from the test suites of jasmin and python-smpplib;
each is checked against what the source library's own test expects, so our reading of real
vendor receipts stays the one the SMPP community settled on.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests import project

from sms_tracking.reports.base import Inbound, ParseContext, Record, Reject, Report, normalise_error_code
from sms_tracking.reports.smpp import convert_id, message_state_to_stat, parse, parse_receipt_text
from sms_tracking.reports.smpp_pdu import (
    TAG_MESSAGE_PAYLOAD,
    TAG_NETWORK_ERROR_CODE,
    TAG_RECEIPTED_MESSAGE_ID,
    DeliverSm,
    PduError,
    decode_deliver_sm,
    hex_to_bytes,
)

SAMPLES = project.SAMPLES / "smpp_receipts"
CTX = ParseContext(source="smpp_test", provider="smpp")


def _load_cases() -> list[dict[str, Any]]:
    with (SAMPLES / "receipt_cases.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _load_states() -> list[dict[str, str]]:
    with (SAMPLES / "smpp34_message_states.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


CASES = _load_cases()
PDU_CASES = [case for case in CASES if case["input_kind"] == "pdu_hex"]
STATES = _load_states()
STAT_BY_NAME = {row["message_state_name"]: row["receipt_stat_text"] for row in STATES}
STAT_BY_VALUE = {int(row["message_state_value"]): row["receipt_stat_text"] for row in STATES}

# The zone-less dates the source tests expect, as the instants they stand for (read in UTC).
SOURCE_DATES = {
    "1305050826": datetime(2013, 5, 5, 8, 26, tzinfo=UTC),
    "141023215253": datetime(2014, 10, 23, 21, 52, 53, tzinfo=UTC),
    "141023215259": datetime(2014, 10, 23, 21, 52, 59, tzinfo=UTC),
    "150519232657": datetime(2015, 5, 19, 23, 26, 57, tzinfo=UTC),
    "201506201641": datetime(2015, 6, 20, 16, 41, tzinfo=UTC),  # YYYYMMDDhhmm (jasmin #195)
    "1909301545": datetime(2019, 9, 30, 15, 45, tzinfo=UTC),
}


def _line_for(case: dict[str, Any]) -> str:
    """The case as a line of an smpp source: receipt text, JSON DELIVER_SM or hex dump."""
    if case["input_kind"] == "pdu_hex":
        return case["input"]
    if case["input_kind"] == "short_message" and not case["input_tlvs"]:
        return case["input"]
    return _json_line(case["input"], case["input_tlvs"])


def _json_line(short_message: str, tlvs: dict[str, Any], esm_class: int | None = 4, **extra: Any) -> str:
    obj: dict[str, Any] = {"short_message": short_message, "tlvs": tlvs, **extra}
    if esm_class is not None:
        obj["esm_class"] = esm_class
    return json.dumps(obj)


def _one(line: str, ctx: ParseContext = CTX, position: int = 7) -> Record:
    records = list(parse([(position, line)], ctx))
    assert len(records) == 1, records
    assert records[0].position == position
    return records[0]


def _report(line: str, ctx: ParseContext = CTX) -> Report:
    record = _one(line, ctx)
    assert isinstance(record, Report), record
    return record


def _reject(line: str, ctx: ParseContext = CTX) -> Reject:
    record = _one(line, ctx)
    assert isinstance(record, Reject), record
    assert record.raw_text == line
    return record


def _pdu(
    *,
    esm_class: int = 0x04,
    short_message: bytes = b"",
    tlvs: tuple[tuple[int, bytes], ...] = (),
    source_addr: str = "33612345678",
    destination_addr: str = "ACME",
    data_coding: int = 0,
    command_id: int = 0x00000005,
    trailer: bytes = b"",
) -> str:
    """Build a deliver_sm hex dump (SMPP 3.4 §4.6.1) for the cases the samples do not cover."""
    body = b"".join(
        [
            b"\x00",  # service_type
            bytes([1, 1]) + source_addr.encode() + b"\x00",
            bytes([5, 0]) + destination_addr.encode() + b"\x00",
            bytes([esm_class, 0, 0]),  # esm_class, protocol_id, priority_flag
            b"\x00\x00",  # schedule_delivery_time, validity_period
            bytes([0, 0, data_coding, 0, len(short_message)]),
            short_message,
        ]
    )
    for tag, value in tlvs:
        body += tag.to_bytes(2, "big") + len(value).to_bytes(2, "big") + value
    body += trailer
    header = (16 + len(body)).to_bytes(4, "big") + command_id.to_bytes(4, "big") + bytes(4) + bytes([0, 0, 0, 9])
    return (header + body).hex()


# --- the 21 cases of the source libraries ------------------------------------------------------


def _decoded(case: dict[str, Any]) -> DeliverSm:
    return decode_deliver_sm(hex_to_bytes(case["input"]))


def _match(pattern: str, text: str) -> re.Match[str]:
    match = re.search(pattern, text)
    assert match is not None, (pattern, text)
    return match


def _tag_in(text: str) -> int:
    return int(_match(r"0x[0-9A-Fa-f]{4}", text).group(), 16)


def _check_expectation(case: dict[str, Any], record: Record, key: str, expected: Any) -> None:
    """Assert one value the source library's test expects, translated to our records."""
    nd = expected == "ND"
    if key in ("id", "receipted_message_id"):
        assert isinstance(record, Report) and record.provider_message_id == expected
    elif key == "stat":
        assert isinstance(record, Report) and record.raw_status == expected
    elif key == "message_state":
        name, value = _match(r"(\w+)\((\d+)\)", expected).groups()
        assert STAT_BY_NAME[name] == STAT_BY_VALUE[int(value)]
        assert isinstance(record, Report) and record.raw_status == STAT_BY_NAME[name]
    elif key == "err":
        assert isinstance(record, Report)
        assert normalise_error_code(record.raw_error) == (None if nd else normalise_error_code(expected))
    elif key == "sdate":
        assert isinstance(record, Report) and record.submitted_at == (None if nd else SOURCE_DATES[expected])
    elif key == "ddate":
        assert isinstance(record, Report) and record.event_at == (None if nd else SOURCE_DATES[expected])
    elif key == "sub":
        assert isinstance(record, Report) and record.segments == (None if nd else int(expected))
    elif key == "dlvrd":
        dlvrd = parse_receipt_text(case["input"]).dlvrd
        assert (None if dlvrd is None else int(dlvrd)) == (None if nd else int(expected))
    elif key == "text":
        assert (parse_receipt_text(case["input"]).text or "") == expected
    elif key == "source_addr":
        assert isinstance(record, Report) and record.phone == expected
    elif key == "destination_addr":
        assert isinstance(record, Report) and record.sender == expected
    elif key == "network_error_code_raw":
        error = _decoded(case).network_error_code
        assert error is not None and error.raw == expected.split()[0].encode("ascii")
        assert error.network_type is None and error.text == "000"
    elif key == "network_error_code_hex":
        error = _decoded(case).network_error_code
        assert error is not None and error.raw.hex() == expected
        assert error.network_type == int(expected[:2], 16) and error.error == int(expected[2:], 16)
        assert error.text == f"{int(expected[2:], 16):03d}"
    elif key == "message_payload":
        payload = _decoded(case).message_payload
        assert payload == expected.replace("\\x00", "\x00").encode("latin-1")
    elif key in ("source_network_type", "dest_network_type"):
        tag = 0x000E if key == "source_network_type" else 0x0006
        assert _decoded(case).tlv(tag) == bytes([int(_match(r"\w+\((\d+)\)", expected).group(1))])
    elif key == "command":
        assert expected == "deliver_sm" and _decoded(case).command_id == 0x00000005
    elif key == "command_status":
        assert expected == "ESME_ROK" and _decoded(case).command_status == 0
    elif key == "sequence_number":
        assert _decoded(case).sequence_number == expected
    elif key in ("must_parse_despite_unknown_tlv", "must_parse_despite_tlv"):
        assert _tag_in(expected) in {tlv.tag for tlv in _decoded(case).tlvs}
        assert isinstance(record, Report)
    elif key == "short_message_hex_prefix":
        assert _decoded(case).short_message.hex().startswith(expected)
    elif key == "parses_with_allow_unknown_opt_params":
        assert expected is True and isinstance(record, Report)
        assert {tlv.tag for tlv in _decoded(case).tlvs} == {0x1402, 0x1403}
    elif key == "note":
        pass  # informational
    else:
        pytest.fail(f"no check for expectation {key!r} of {case['case_id']}")


@pytest.mark.parametrize("case", CASES, ids=[case["case_id"] for case in CASES])
def test_each_source_case_gives_what_the_source_test_expects(case: dict[str, Any]) -> None:
    record = _one(_line_for(case))
    if case.get("esm_class_receipt_flag") is False:
        assert isinstance(record, Inbound), "a mobile-originated deliver_sm must never be a report"
    else:
        assert isinstance(record, Report), record
        assert record.provider == "smpp"
        assert record.raw_text == _line_for(case)
    for key, expected in case["expected_by_source_test"].items():
        _check_expectation(case, record, key, expected)


def test_the_samples_hold_21_cases_of_all_three_input_kinds() -> None:
    assert len(CASES) == 21
    assert {case["input_kind"] for case in CASES} == {"short_message", "pdu_hex", "tlv_only_data_sm"}


@pytest.mark.parametrize("case", PDU_CASES, ids=[case["case_id"] for case in PDU_CASES])
def test_pdu_decoder_matches_the_field_by_field_reference(case: dict[str, Any]) -> None:
    reference = case["pdu_decoded_by_us"]
    pdu = _decoded(case)
    assert pdu.command_length == reference["command_length"] == reference["actual_length"]
    assert pdu.command_id == int(reference["command_id"], 16)
    for name in (
        "command_status",
        "sequence_number",
        "service_type",
        "source_addr_ton",
        "source_addr_npi",
        "source_addr",
        "dest_addr_ton",
        "dest_addr_npi",
        "destination_addr",
        "esm_class",
        "registered_delivery",
        "data_coding",
        "sm_length",
    ):
        assert getattr(pdu, name) == reference[name], name
    assert pdu.short_message.hex() == reference["short_message_hex"]
    assert [(f"0x{tlv.tag:04X}", len(tlv.value), tlv.value.hex()) for tlv in pdu.tlvs] == [
        (tlv["tag"].upper().replace("0X", "0x"), tlv["length"], tlv["value_hex"]) for tlv in reference["tlvs"]
    ]
    assert pdu.is_receipt == case["esm_class_receipt_flag"]


@pytest.mark.parametrize("case", PDU_CASES, ids=[case["case_id"] for case in PDU_CASES])
def test_pdu_receipt_takes_id_and_state_from_tlvs_and_the_rest_from_the_text(case: dict[str, Any]) -> None:
    reference = case["pdu_decoded_by_us"]
    record = _one(case["input"])
    if not case["esm_class_receipt_flag"]:
        assert isinstance(record, Inbound)
        assert record.phone == reference["source_addr"]
        assert record.recipient == reference["destination_addr"]
        return
    assert isinstance(record, Report)
    tlvs = {tlv["name"]: tlv for tlv in reference["tlvs"]}
    text = reference["short_message_latin1"] or tlvs["message_payload"]["value_latin1"]
    fields = parse_receipt_text(text)
    if "receipted_message_id" in tlvs:
        assert record.provider_message_id == tlvs["receipted_message_id"]["value_latin1"]
    else:
        assert record.provider_message_id == fields.id
    if "message_state" in tlvs:
        assert record.raw_status == STAT_BY_VALUE[int(tlvs["message_state"]["value_hex"], 16)]
    else:
        assert record.raw_status == fields.stat
    assert record.raw_error == fields.err
    assert record.phone == reference["source_addr"]
    assert record.sender == (reference["destination_addr"] or None)
    assert record.submitted_at is not None and record.event_at is not None


def test_short_message_cases_read_the_same_as_plain_text_and_as_json() -> None:
    plain_cases = [case for case in CASES if case["input_kind"] == "short_message" and not case["input_tlvs"]]
    assert plain_cases
    for case in plain_cases:
        from_text = _fields(_report(case["input"])) | {"raw_text": None}
        from_json = _fields(_report(_json_line(case["input"], {}))) | {"raw_text": None}
        assert from_text == from_json, case["case_id"]


def _fields(report: Report) -> dict[str, Any]:
    return {name: getattr(report, name) for name in report.__slots__}


def test_tlv_only_receipt_still_gives_a_report() -> None:
    line = _json_line("", {"receipted_message_id": "362d9701", "message_state": "DELIVERED(2)"})
    report = _report(line)
    assert (report.provider_message_id, report.raw_status, report.raw_error) == ("362d9701", "DELIVRD", None)
    assert report.event_at is None and report.submitted_at is None and report.segments is None


def test_text_non_utf8_receipt_text_is_read_as_latin1() -> None:
    case = next(c for c in CASES if c["case_id"] == "jasmin:test_deliver_sm_resp_unknown_error")
    report = _report(case["input"])
    assert report.raw_status == "DELIVRD"
    fields = parse_receipt_text(_decoded(case).short_message.decode("latin-1"))
    assert fields.id == "0416342074" and fields.text is not None and fields.text.startswith("\x84A")


# --- message states ---------------------------------------------------------------------------


@pytest.mark.parametrize("row", STATES, ids=[row["message_state_name"] for row in STATES])
def test_message_state_tlv_maps_every_smpp34_state_to_its_stat_word(row: dict[str, str]) -> None:
    value, name, stat = int(row["message_state_value"]), row["message_state_name"], row["receipt_stat_text"]
    for given in (value, str(value), name, f"{name}({value})", stat):
        assert message_state_to_stat(given) == stat, given
        report = _report(_json_line("id:1 stat:WHATEVER", {"message_state": given}))
        assert report.raw_status == stat
    report = _report(_pdu(tlvs=((TAG_RECEIPTED_MESSAGE_ID, b"abc\x00"), (0x0427, bytes([value])))))
    assert (report.provider_message_id, report.raw_status) == ("abc", stat)


def test_unknown_message_state_falls_back_to_the_text_stat() -> None:
    assert _report(_json_line("id:1 stat:delivrd", {"message_state": 42})).raw_status == "DELIVRD"
    assert _report(_pdu(short_message=b"id:1 stat:EXPIRED", tlvs=((0x0427, b"\x09"),))).raw_status == "EXPIRED"


def test_name_and_number_disagreeing_take_the_number() -> None:
    assert message_state_to_stat("DELIVERED(5)") == "UNDELIV"
    assert message_state_to_stat("MessageState.REJECTED") == "REJECTD"
    assert message_state_to_stat(True) is None and message_state_to_stat("NOPE") is None


# --- receipt text grammar ---------------------------------------------------------------------


def test_field_names_are_case_insensitive_and_status_is_upper_cased() -> None:
    report = _report("ID:AbC-1 SUB:002 DLVRD:002 Submit Date:2605041210 DONE DATE:2605041212 Stat:delivrd Err:0")
    assert (report.provider_message_id, report.raw_status, report.raw_error) == ("AbC-1", "DELIVRD", "0")
    assert report.segments == 2


def test_text_field_is_the_rest_of_the_line_and_is_not_searched_for_fields() -> None:
    fields = parse_receipt_text("id:1 stat:DELIVRD err:000 text:stat:UNDELIV id:2 MCC=270 MNC=1")
    assert (fields.id, fields.stat, fields.text) == ("1", "DELIVRD", "stat:UNDELIV id:2 MCC=270 MNC=1")
    assert parse_receipt_text("id:1 stat:DELIVRD").text is None
    assert parse_receipt_text("id:1 stat:DELIVRD text:").text == ""


@pytest.mark.parametrize(
    "text",
    [
        "id:11D1 sub:002 dlvrd:002 submit date:2605041000 done date:2605041000 stat:DELIVRD err:000 text:Soldes",
        "ID:a SUB:001 DLVRD:000 SUBMIT DATE:2605041000 DONE DATE:2605041001 STAT:UNDELIV ERR:001",
        "id:a sub: dlvrd:001 submit date: done date:2605041001 stat:EXPIRED err: text:",
        "id:a sub:001 dlvrd:001 submit date:1 done date:2 stat:DELIVRD err:000 text:stat:UNDELIV id:2\r\n",
        "id:a sub:001 dlvrd:001 submit date:1 done date:2 stat:DELIVRD err:000 text:line\nbreak\x00",
    ],
)
def test_the_canonical_layout_reads_as_the_general_field_loop_does(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Appendix B's own layout is read by one match; the general loop must read the same fields."""
    from sms_tracking.reports import smpp

    fast = parse_receipt_text(text)
    monkeypatch.setattr(smpp, "_CANONICAL", re.compile(r"(?!)"))  # never matches: the general loop only
    assert fast == parse_receipt_text(text)


# Adobe's extended SMPP connector reads the id, the status and the error code each with its own regex
# over the whole SR text (reference section 1.6: "id:", "stat:", "err:" extraction regexes), so a field is
# found wherever it stands; Appendix B's order is what most SMSCs send, not a requirement.
CANONICAL_FIELDS = ("id:7 sub:001 dlvrd:001 submit date:2605041000 done date:2605041001 stat:UNDELIV err:005", "Hi")


@pytest.mark.parametrize(
    "line",
    [
        "stat:UNDELIV err:005 id:7 sub:001 dlvrd:001 submit date:2605041000 done date:2605041001 text:Hi",
        "done date:2605041001 err:005 submit date:2605041000 stat:UNDELIV dlvrd:001 sub:001 id:7 text:Hi",
        "id:7 sub:001 dlvrd:001 submit date:2605041000 done date:2605041001 text:Hi stat:UNDELIV err:005",
        "text:Hi id:7 sub:001 dlvrd:001 submit date:2605041000 done date:2605041001 stat:UNDELIV err:005",
        "id:7 text:Hi sub:001 dlvrd:001 stat:UNDELIV submit date:2605041000 done date:2605041001 err:005",
    ],
)
def test_fields_are_read_in_any_order_including_after_text(line: str) -> None:
    expected = parse_receipt_text(" ".join(CANONICAL_FIELDS[:1]) + " text:" + CANONICAL_FIELDS[1])
    assert parse_receipt_text(line) == expected
    report = _report(line)
    assert (report.provider_message_id, report.raw_status, report.error_code, report.parse_warning) == (
        "7",
        "UNDELIV",
        "5",
        None,
    )
    assert report.event_at == datetime(2026, 5, 4, 10, 1, tzinfo=UTC)


def test_a_field_after_text_does_not_replace_one_read_before_it() -> None:
    fields = parse_receipt_text("id:1 stat:DELIVRD text:see stat:UNDELIV err:042")
    assert (fields.stat, fields.err, fields.text) == ("DELIVRD", "042", "see stat:UNDELIV")


def test_a_misspelt_label_keeps_the_receipt_with_a_warning_naming_what_was_not_read() -> None:
    report = _report("id:7 sub:001 dlvrd:001 submit date:2605041000 done dat:2605041001 stat:DELIVRD err:000 text:x")
    assert (report.provider_message_id, report.raw_status, report.error_code) == ("7", "DELIVRD", "0")
    assert report.parse_warning == "could not read 'dat:2605041001'; missing done date"
    assert report.event_at is None  # the done date was not read: the report is timed by its arrival


def test_a_failed_receipt_whose_error_code_could_not_be_read_gets_a_code_of_its_own() -> None:
    """Not "no code": the (UNDELIV, *) row must not type it silently; the build adds (UNDELIV, UNREADABLE)."""
    report = _report("id:7 sub:001 dlvrd:000 submit date:2605041000 done date:2605041001 stat:UNDELIV eror:005 text:")
    assert (report.raw_status, report.raw_error, report.error_code) == ("UNDELIV", "UNREADABLE", "UNREADABLE")
    assert report.parse_warning == "could not read 'eror:005'; missing err"


def test_a_misspelt_label_with_no_id_or_no_status_is_still_rejected() -> None:
    assert "missing stat" in _reject("id:7 sta:UNDELIV err:005").reason
    assert "missing id" in _reject("ld:7 stat:UNDELIV err:005").reason


def test_a_receipt_without_err_and_nothing_unread_has_no_code_and_no_warning() -> None:
    report = _report("id:7 submit date:2605041000 done date:2605041001 stat:UNDELIV")
    assert (report.raw_error, report.parse_warning) == (None, None)


def test_missing_err_gives_no_raw_error() -> None:
    report = _report("id:1 submit date:2605041210 done date:2605041212 stat:DELIVRD")
    assert report.raw_error is None and report.error_code is None


def test_plain_receipt_has_no_phone_or_sender() -> None:
    report = _report("id:1 stat:DELIVRD")
    assert report.phone is None and report.sender is None


# --- dates and time zones ---------------------------------------------------------------------


def test_dates_are_read_in_the_source_time_zone_and_stored_in_utc() -> None:
    paris = ParseContext(source="fr", provider="smpp", tz=ZoneInfo("Europe/Paris"))
    line = "id:7F3A21 sub:001 dlvrd:000 submit date:2601151200 done date:2605041212 stat:UNDELIV err:005 Text:Hi"
    report = _report(line, paris)
    assert report.submitted_at == datetime(2026, 1, 15, 11, 0, tzinfo=UTC)  # CET, +01:00
    assert report.event_at == datetime(2026, 5, 4, 10, 12, tzinfo=UTC)  # CEST, +02:00
    assert _report(line).event_at == datetime(2026, 5, 4, 12, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2605041212", datetime(2026, 5, 4, 12, 12, tzinfo=UTC)),  # YYMMDDhhmm (Appendix B)
        ("260504121259", datetime(2026, 5, 4, 12, 12, 59, tzinfo=UTC)),  # YYMMDDhhmmss (Clickatell)
        ("20260504121259", datetime(2026, 5, 4, 12, 12, 59, tzinfo=UTC)),  # YYYYMMDDhhmmss
        ("202605041212", datetime(2026, 5, 4, 12, 12, tzinfo=UTC)),  # YYYYMMDDhhmm, month 26 impossible
    ],
)
def test_10_12_and_14_digit_dates_are_read(value: str, expected: datetime) -> None:
    report = _report(f"id:1 submit date:{value} done date:{value} stat:DELIVRD err:000")
    assert report.submitted_at == expected and report.event_at == expected


def test_json_received_at_is_the_event_time_when_the_receipt_has_no_done_date() -> None:
    paris = ParseContext(source="fr", provider="smpp", tz=ZoneInfo("Europe/Paris"))
    tlvs = {"receipted_message_id": "9", "message_state": 2}
    aware = _report(_json_line("", tlvs, received_at="2026-05-04T10:00:00+02:00"), paris)
    naive = _report(_json_line("", tlvs, received_at="2026-05-04T10:00:00"), paris)
    assert aware.event_at == naive.event_at == datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    done = _report(_json_line("done date:2605041212", tlvs, received_at="2026-05-04T20:00:00Z"))
    assert done.event_at == datetime(2026, 5, 4, 12, 12, tzinfo=UTC)


# --- rejects ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("id:1 submit date:2613011200 done date:2605041212 stat:DELIVRD", ["submit date", "2613011200"]),
        ("id:1 submit date:2605041210 done date:26050412 stat:DELIVRD", ["done date", "26050412"]),
        ("id:1 done date:201513011200 stat:DELIVRD", ["done date", "201513011200"]),
        ("sub:001 dlvrd:001 stat:DELIVRD err:000", ["missing id", "id:"]),
        ("id:ABC123 sub:001 err:000", ["missing stat", "ABC123"]),
        ("hello, this is not a receipt", ["not an SMPP receipt"]),
        ("{not json", ["not valid JSON"]),
        ('{"short_message": 5}', ["short_message", "5"]),
        ('{"short_message": "id:1 stat:DELIVRD", "tlvs": [1]}', ["tlvs"]),
        ('{"short_message": "id:1 stat:DELIVRD", "esm_class": "four"}', ["esm_class", "four"]),
        ('{"short_message": "id:1 stat:DELIVRD", "received_at": "yesterday"}', ["received_at", "yesterday"]),
        ('{"short_message": "STOP", "esm_class": 0}', ["source_addr"]),
        (
            '{"short_message": "", "tlvs": {"receipted_message_id": "1", "message_state": "BOGUS"}}',
            ["message_state", "BOGUS", "stat"],
        ),
        ("000", ["odd number"]),
        ("0000001000000005", ["shorter than the 16-byte header"]),
        ("00000020000000050000000000000001", ["command_length 32 does not match the 16 bytes"]),
    ],
)
def test_unreadable_lines_are_rejected_with_a_reason_naming_field_and_value(line: str, words: list[str]) -> None:
    reason = _reject(line).reason
    for word in words:
        assert word in reason, reason


def test_pdu_structure_errors_are_rejected() -> None:
    assert "submit_sm" in _reject(_pdu(command_id=0x00000004)).reason
    assert "command_length" in _reject(_pdu() + "00").reason
    assert "TLV header" in _reject(_pdu(short_message=b"id:1 stat:DELIVRD", trailer=b"\x04\x24")).reason
    assert "TLV 0x0424" in _reject(_pdu(trailer=b"\x04\x24\x00\x09abc")).reason
    header = (20).to_bytes(4, "big") + (5).to_bytes(4, "big") + bytes(8)
    assert "service_type" in _reject((header + b"abcd").hex()).reason
    short = bytes.fromhex(_pdu(short_message=b"id:1 stat:DELIVRD"))
    cut = (len(short) - 4).to_bytes(4, "big") + short[4:-4]
    assert "short_message" in _reject(cut.hex()).reason


def test_pdu_receipt_without_id_or_stat_is_rejected() -> None:
    assert "missing id" in _reject(_pdu(short_message=b"stat:DELIVRD")).reason
    assert "missing stat" in _reject(_pdu(tlvs=((TAG_RECEIPTED_MESSAGE_ID, b"77\x00"),))).reason


@pytest.mark.parametrize("case", PDU_CASES, ids=[case["case_id"] for case in PDU_CASES])
def test_truncated_or_corrupted_pdus_never_raise_and_give_exactly_one_record(case: dict[str, Any]) -> None:
    data = hex_to_bytes(case["input"])
    for end in range(1, len(data)):
        records = list(parse([(1, data[:end].hex())], CTX))
        assert len(records) == 1 and isinstance(records[0], Reject), end
        assert "unexpected" not in records[0].reason
    for index in range(len(data)):
        for value in (0x00, 0xFF):
            mutated = data[:index] + bytes([value]) + data[index + 1 :]
            records = list(parse([(1, mutated.hex())], CTX))
            assert len(records) == 1
            assert not isinstance(records[0], Reject) or "unexpected" not in records[0].reason


def test_hex_decoder_ignores_whitespace_and_rejects_bad_hex() -> None:
    case = PDU_CASES[0]
    spaced = " ".join(case["input"][i : i + 2] for i in range(0, len(case["input"]), 2))
    assert hex_to_bytes(spaced) == hex_to_bytes(case["input"])
    assert _report(spaced).provider_message_id == _report(case["input"]).provider_message_id
    with pytest.raises(PduError):
        hex_to_bytes("zz")


# --- one record per line ----------------------------------------------------------------------


def test_every_non_blank_line_gives_exactly_one_record_and_blank_lines_none() -> None:
    lines = [_line_for(case) for case in CASES] + ["garbage", "", "   ", "\r\n", "{", "00"]
    numbered = list(enumerate(lines, start=1))
    records = list(parse(numbered, CTX))
    expected_positions = [position for position, line in numbered if line.strip()]
    assert [record.position for record in records] == expected_positions
    assert sum(isinstance(record, Reject) for record in records) == 3
    assert sum(isinstance(record, Inbound) for record in records) == 2


def test_line_ending_and_byte_order_mark_are_not_part_of_the_receipt() -> None:
    report = _report("\ufeffid:1 stat:DELIVRD err:000 text:bye\r\n")
    assert report.provider_message_id == "1"
    assert parse_receipt_text("id:1 stat:DELIVRD text:bye\r\n").text == "bye"


# --- mobile-originated vs receipt -------------------------------------------------------------


@pytest.mark.parametrize("esm_class", [0x04, 0x08, 0x20, 0x44, 0x84])
def test_receipt_message_types_of_esm_class_give_a_report(esm_class: int) -> None:
    assert isinstance(_one(_pdu(esm_class=esm_class, short_message=b"id:5 stat:DELIVRD")), Report)
    assert isinstance(_one(_json_line("id:5 stat:DELIVRD", {}, esm_class=esm_class)), Report)


@pytest.mark.parametrize("esm_class", [0x00, 0x80, 0x40, 0x10, 0x18])
def test_other_esm_classes_are_mobile_originated_and_never_a_report(esm_class: int) -> None:
    for line in (
        _pdu(esm_class=esm_class, short_message=b"id:5 stat:DELIVRD"),
        _json_line("id:5 stat:DELIVRD", {}, esm_class=esm_class, source_addr="336", destination_addr="38200"),
    ):
        record = _one(line)
        assert isinstance(record, Inbound)
        assert record.provider == "smpp" and record.provider_message_id is None


def test_json_mobile_originated_message_keeps_phone_recipient_text_and_time() -> None:
    line = _json_line(
        "STOP",
        {},
        esm_class=0,
        source_addr="33612345678",
        destination_addr="38200",
        received_at="2026-05-04T10:00Z",
    )
    assert _one(line) == Inbound(
        provider="smpp",
        provider_message_id=None,
        phone="33612345678",
        recipient="38200",
        text="STOP",
        received_at=datetime(2026, 5, 4, 10, 0, tzinfo=UTC),
        position=7,
    )


def test_mobile_originated_pdu_text_skips_the_user_data_header_and_reads_ucs2() -> None:
    udh = bytes([5, 0, 3, 0x2A, 2, 1])
    record = _one(_pdu(esm_class=0x40, short_message=udh + b"STOP", source_addr="447700900123"))
    assert isinstance(record, Inbound) and (record.text, record.phone) == ("STOP", "447700900123")
    record = _one(_pdu(esm_class=0, data_coding=8, short_message="Arrêt ✓".encode("utf-16-be")))
    assert isinstance(record, Inbound) and record.text == "Arrêt ✓"
    record = _one(_pdu(esm_class=0, tlvs=((TAG_MESSAGE_PAYLOAD, b"STOP please"),)))
    assert isinstance(record, Inbound) and record.text == "STOP please"


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(b"\x03\x00\x05", "005"), (b"001", "001"), (b"000\x00", "000"), (b"\x01\x02", "0102")],
)
def test_network_error_code_is_the_error_when_the_text_has_none(value: bytes, expected: str) -> None:
    line = _pdu(short_message=b"id:9 stat:UNDELIV", tlvs=((TAG_NETWORK_ERROR_CODE, value),))
    assert _report(line).raw_error == expected
    with_err = _pdu(short_message=b"id:9 stat:UNDELIV err:011", tlvs=((TAG_NETWORK_ERROR_CODE, value),))
    assert _report(with_err).raw_error == "011"


def test_json_network_error_code_is_used_only_without_err() -> None:
    assert _report(_json_line("id:1 stat:UNDELIV", {"network_error_code": "005"})).raw_error == "005"
    assert _report(_json_line("id:1 stat:UNDELIV err:001", {"network_error_code": "005"})).raw_error == "001"


# --- id formats -------------------------------------------------------------------------------


def _ctx(id_format: str) -> ParseContext:
    return ParseContext(source="ids", provider="smpp", options={"id_format": id_format})


def test_id_format_converts_receipt_ids_to_the_submit_format() -> None:
    assert _report("id:0000436949 stat:DELIVRD", _ctx("decimal_to_hex")).provider_message_id == "6aad5"
    payload_case = next(c for c in CASES if c["case_id"] == "jasmin:test_deliver_sm_with_message_payload")
    assert _report(payload_case["input"], _ctx("hex_to_decimal")).provider_message_id == "436949"
    assert _report("id:0x1D305B4C stat:DELIVRD", _ctx("hex_to_decimal")).provider_message_id == "489708364"
    assert _report("id:0000436949 stat:DELIVRD", _ctx("as_is")).provider_message_id == "0000436949"
    assert convert_id("1d305b4c", "hex_to_decimal") == "489708364"
    assert convert_id("489708364", "decimal_to_hex") == "1d305b4c"


def test_id_that_does_not_fit_the_id_format_is_rejected() -> None:
    reason = _reject("id:4a38dc46-5125-4969-90be-72104c340d5c stat:DELIVRD", _ctx("hex_to_decimal")).reason
    assert "4a38dc46-5125-4969-90be-72104c340d5c" in reason and "hex_to_decimal" in reason
    assert "decimal_to_hex" in _reject("id:6aad5 stat:DELIVRD", _ctx("decimal_to_hex")).reason


def test_unknown_id_format_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="id_format"):
        list(parse([(1, "id:1 stat:DELIVRD")], _ctx("base64")))


def test_receipted_message_id_is_a_c_string_without_its_nul() -> None:
    pdu = decode_deliver_sm(hex_to_bytes(_pdu(tlvs=((TAG_RECEIPTED_MESSAGE_ID, b"6aad5\x00"),))))
    assert pdu.receipted_message_id == "6aad5"


def test_a_non_ascii_digit_error_code_is_kept_as_text() -> None:
    """str.isdigit accepts "²", which int() refuses: such a code is text, not a number to strip zeros from."""
    assert normalise_error_code("²") == "²"
    assert normalise_error_code("007") == "7"
