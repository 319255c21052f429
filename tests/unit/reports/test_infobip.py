"""Tests of the Infobip adapter against the bodies of Infobip's own API clients.

``report_examples.jsonl`` holds, each under ``payload`` beside its provenance, a delivery-report
webhook body, an inbound-SMS webhook body and a number-context (HLR) result that shares the
status/error objects of a report but is not one. The tests hand the adapter the payload itself, as
the webhook delivers it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tests import project
from tests.unit.reports.helpers import Prefix, numbered, only_reports, reject_reasons, seed_row

from sms_tracking.reports import FORMATS
from sms_tracking.reports.base import Inbound, ParseContext, Reject, Report
from sms_tracking.reports.infobip import parse_json

SAMPLES = project.SAMPLES / "infobip_reports"

CTX = ParseContext(source="infobip_test", provider="infobip")
PARIS = ParseContext(source="infobip_test", provider="infobip", tz=ZoneInfo("Europe/Paris"))


def _payloads() -> list[dict[str, Any]]:
    """The sample webhook bodies (the ``payload`` member of each sample line)."""
    lines = (SAMPLES / "report_examples.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["payload"] for line in lines if line.strip()]


def _sample_lines() -> list[tuple[int, str]]:
    return numbered(*(json.dumps(payload) for payload in _payloads()))


def _result(**fields: Any) -> dict[str, Any]:
    """A delivery-report result shaped like the sample's, overridden by ``fields`` (None removes)."""
    result: dict[str, Any] = json.loads(json.dumps(_payloads()[0]["results"][0]))
    result.update(fields)
    return {key: value for key, value in result.items() if value is not None}


def _status(name: str, group: int = 2, status_id: int = 9) -> dict[str, Any]:
    return {
        "groupId": group,
        "groupName": name.split("_")[0],
        "id": status_id,
        "name": name,
        "description": "",
    }


def _error(name: str, error_id: int, permanent: bool = False) -> dict[str, Any]:
    return {"groupId": 1, "groupName": "HANDSET_ERRORS", "id": error_id, "name": name, "permanent": permanent}


def test_format_is_registered_for_infobip() -> None:
    assert FORMATS["infobip_json"].provider == "infobip"
    assert FORMATS["infobip_json"].adapter() is parse_json


# --- the samples ----------------------------------------------------------------------------------


def test_samples_yield_a_report_an_inbound_and_a_reject() -> None:
    report, inbound, reject = parse_json(_sample_lines(), CTX)

    assert isinstance(report, Report)
    assert report.position == 1
    assert isinstance(inbound, Inbound)
    assert inbound.position == 2
    assert isinstance(reject, Reject)
    assert reject.position == 3


def test_sample_delivery_report_maps_every_field() -> None:
    report = next(parse_json(_sample_lines(), CTX))

    assert report == Report(
        provider="infobip",
        provider_message_id="MESSAGE-ID-123-xyz",
        raw_status="DELIVERED_TO_HANDSET",
        raw_error=None,
        event_at=datetime(2023, 8, 1, 10, 40, tzinfo=UTC),
        position=1,
        raw_text=report.raw_text,
        submitted_at=datetime(2023, 8, 1, 10, 40, tzinfo=UTC),
        phone="41793026727",
        sender="InfoSMS",
        segments=1,
        price=Decimal("0.01"),
        price_unit="EUR",
    )
    assert json.loads(report.raw_text)["error"]["permanent"] is False


def test_sample_offset_dates_stay_exact_whatever_the_source_zone() -> None:
    report = next(parse_json(_sample_lines(), PARIS))

    assert report.event_at == datetime(2023, 8, 1, 10, 40, tzinfo=UTC)


def test_sample_inbound_keeps_the_keyword_in_the_text() -> None:
    inbound = list(parse_json(_sample_lines(), CTX))[1]

    assert inbound == Inbound(
        provider="infobip",
        provider_message_id="817790313235066447",
        phone="385916242493",
        recipient="385921004026",
        text="QUIZ Correct answer is Paris",
        received_at=datetime(2023, 8, 1, 10, 40, tzinfo=UTC),
        position=2,
        price=Decimal("0.0"),
        price_unit="EUR",
    )


def test_sample_number_context_result_is_rejected_for_its_missing_message_id() -> None:
    reject = list(parse_json(_sample_lines(), CTX))[2]

    assert isinstance(reject, Reject)
    assert reject.reason == "missing messageId: a number-context (HLR) lookup result, not an SMS delivery report"
    assert json.loads(reject.raw_text)["mccMnc"] == "22801"


def test_sample_failure_objects_qualify_as_absent_subscriber_once_given_a_message_id() -> None:
    lookup = _payloads()[2]["results"][0]
    line = json.dumps({**lookup, "messageId": "MESSAGE-ID-456"})

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    assert (report.raw_status, report.raw_error) == ("UNDELIVERABLE_NOT_DELIVERED", "EC_ABSENT_SUBSCRIBER")
    row = seed_row("infobip", report.raw_status, report.error_code)
    assert row is not None
    assert (row["error_code"], row["failure_type"], row["failure_reason"]) == (
        "EC_ABSENT_SUBSCRIBER",
        "Ignored",
        "Not connected",
    )


def test_sample_reports_have_seed_rows() -> None:
    report = next(parse_json(_sample_lines(), CTX))

    assert isinstance(report, Report)
    row = seed_row("infobip", report.raw_status, report.error_code)
    assert row is not None
    assert row["outcome"] == "delivered"


# --- shapes ---------------------------------------------------------------------------------------


def test_webhook_body_with_several_results_yields_one_record_each_at_the_line_position() -> None:
    body = {
        "results": [
            _result(messageId="M1"),
            _result(
                messageId="M2",
                status=_status("UNDELIVERABLE_NOT_DELIVERED"),
                error=_error("EC_CALL_BARRED", 13),
            ),
        ]
    }

    first, second = only_reports(list(parse_json(numbered("", json.dumps(body)), CTX)))

    assert (first.provider_message_id, second.provider_message_id) == ("M1", "M2")
    assert {first.position, second.position} == {2}
    assert json.loads(second.raw_text)["messageId"] == "M2"
    assert second.raw_error == "EC_CALL_BARRED"


def test_a_single_result_object_per_line_is_read() -> None:
    (report,) = only_reports(list(parse_json(numbered(json.dumps(_result(messageId="M3"))), CTX)))

    assert report.provider_message_id == "M3"
    assert report.raw_text == json.dumps(_result(messageId="M3"))


def test_result_that_is_not_an_object_is_rejected_alone() -> None:
    body = {"results": [_result(), "M4"]}

    report, reject = parse_json(numbered(json.dumps(body)), CTX)

    assert isinstance(report, Report)
    assert isinstance(reject, Reject)
    assert reject.reason == "expected a result object, got str"


def test_empty_or_malformed_results_are_rejected_so_no_line_is_lost() -> None:
    lines = numbered('{"results": []}', '{"results": {"messageId": "M5"}}')

    empty, malformed = parse_json(lines, CTX)

    assert isinstance(empty, Reject)
    assert empty.reason == "webhook body holds no results"
    assert isinstance(malformed, Reject)
    assert malformed.reason == "results is a dict, not a list"


# --- mapping --------------------------------------------------------------------------------------


def test_error_name_is_upper_cased_as_the_seed_keys_it() -> None:
    line = json.dumps(
        _result(
            status=_status("UNDELIVERABLE_NOT_DELIVERED"),
            error=_error("EC_SM_DF_memoryCapacityExceeded", 256),
        )
    )

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    assert report.raw_error == "EC_SM_DF_MEMORYCAPACITYEXCEEDED"
    row = seed_row("infobip", report.raw_status, report.error_code)
    assert row is not None
    assert row["failure_reason"] == "Mailbox full"


def test_error_id_zero_is_no_error_whatever_its_name() -> None:
    line = json.dumps(_result(error={"groupId": 0, "id": 0, "name": "OK"}))

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    assert report.raw_error is None


def test_error_without_a_name_falls_back_to_its_id() -> None:
    line = json.dumps(_result(status=_status("UNDELIVERABLE_NOT_DELIVERED"), error={"groupId": 1, "id": 27}))

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    assert report.raw_error == "27"


def test_unknown_error_name_falls_back_to_the_status_row() -> None:
    line = json.dumps(_result(status=_status("UNDELIVERABLE_NOT_SENT"), error=_error("EC_SOMETHING_NEW", 999, True)))

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    row = seed_row("infobip", report.raw_status, report.error_code)
    assert row is not None
    assert (row["raw_status"], row["error_code"], row["failure_type"]) == (
        "UNDELIVERABLE_NOT_SENT",
        "*",
        "Soft",
    )


def test_pending_and_rejected_statuses_have_seed_rows() -> None:
    names = ["PENDING_ENROUTE", "DELIVERED_TO_OPERATOR", "EXPIRED_EXPIRED", "REJECTED_NETWORK", "MISSING_TO"]
    lines = numbered(*(json.dumps(_result(messageId=f"M{i}", status=_status(name))) for i, name in enumerate(names)))

    for report in only_reports(list(parse_json(lines, CTX))):
        row = seed_row("infobip", report.raw_status, report.error_code)
        assert row is not None
        assert row["raw_status"] == report.raw_status


def test_sms_count_wins_over_message_count_and_from_stands_for_sender() -> None:
    line = json.dumps(_result(smsCount=2, messageCount=1, sender=None, **{"from": "InfoSMS2"}))

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    assert (report.segments, report.sender) == (2, "InfoSMS2")


def test_dates_with_compact_offset_or_without_zone() -> None:
    line = json.dumps(_result(doneAt="2019-11-09T16:00:00.000+0000", sentAt="2019-11-09T16:59:00"))

    (report,) = only_reports(list(parse_json(numbered(line), PARIS)))

    assert report.event_at == datetime(2019, 11, 9, 16, 0, tzinfo=UTC)
    assert report.submitted_at == datetime(2019, 11, 9, 15, 59, tzinfo=UTC)


def test_without_price_there_is_no_price_unit() -> None:
    line = json.dumps(_result(price=None, doneAt=None, sentAt=None))

    (report,) = only_reports(list(parse_json(numbered(line), CTX)))

    assert (report.price, report.price_unit, report.event_at, report.submitted_at) == (None, None, None, None)


# --- inbound --------------------------------------------------------------------------------------


def test_inbound_text_falls_back_to_clean_text_and_needs_a_sender() -> None:
    lines = numbered(
        json.dumps({"messageId": "I1", "from": "385916242493", "cleanText": "STOP", "receivedAt": None}),
        json.dumps({"messageId": "I2", "text": "STOP", "to": "385921004026"}),
    )

    inbound, reject = parse_json(lines, CTX)

    assert isinstance(inbound, Inbound)
    assert (inbound.text, inbound.received_at) == ("STOP", None)
    assert isinstance(reject, Reject)
    assert reject.reason == "inbound message has no from"


# --- rejects and robustness -----------------------------------------------------------------------


def test_unreadable_results_are_rejected_naming_field_and_value() -> None:
    lines = numbered(
        json.dumps(_result(status=None)),
        json.dumps(_result(status="")),
        json.dumps(_result(status=["DELIVERED"])),
        json.dumps(_result(status={"name": 5})),
        json.dumps(_result(doneAt="01/08/2023 16:10")),
        json.dumps(_result(price={"pricePerMessage": "cheap", "currency": "EUR"})),
        json.dumps(_result(price=0.01)),
        json.dumps(_result(smsCount=1.5)),
        json.dumps(_result(messageId=None)),
        json.dumps(_result(messageId={"id": 1})),
        "[]",
        "{",
    )

    assert reject_reasons(parse_json(lines, CTX)) == [
        "missing status.name (messageId 'MESSAGE-ID-123-xyz')",
        "missing status.name (messageId 'MESSAGE-ID-123-xyz')",
        "status ['DELIVERED'] is not an object",
        "status.name 5 is not a string",
        "doneAt '01/08/2023 16:10' is not an ISO-8601 date",
        "price.pricePerMessage 'cheap' is not a number",
        "price 0.01 is not an object",
        "smsCount 1.5 is not a whole number",
        "missing messageId",
        "messageId {'id': 1} is not a string",
        "expected a JSON object, got list",
        Prefix("invalid JSON"),
    ]


def test_every_non_blank_line_yields_a_record_and_blank_lines_none() -> None:
    garbage = ["", "  ", "{", "null", '{"results": null}', '{"results": [null]}', "\x00", "{}", '"x"']
    lines = numbered(*garbage)

    positions = [record.position for record in parse_json(lines, CTX)]

    assert positions == [position for position, text in lines if text.strip()]


def test_numbers_too_large_for_the_report_table_are_rejected() -> None:
    lines = numbered(
        json.dumps(_result(smsCount=10**12)),
        json.dumps(_result(price={"pricePerMessage": 1e9, "currency": "EUR"})),
    )

    segments, price = parse_json(lines, CTX)

    assert isinstance(segments, Reject)
    assert segments.reason == f"smsCount {10**12} is out of range"
    assert isinstance(price, Reject)
    assert price.reason == "price.pricePerMessage 1000000000.0 is out of range"


INFOBIP_ERRORS = {
    # Handset errors (group 1): id, permanent
    "EC_UNKNOWN_SUBSCRIBER": (1, True),
    "EC_UNKNOWN_BASE_STATION": (2, False),
    "EC_UNKNOWN_MSC": (3, False),
    "EC_UNIDENTIFIED_SUBSCRIBER": (5, False),
    "EC_ABSENT_SUBSCRIBER_SM": (6, False),
    "EC_UNKNOWN_EQUIPMENT": (7, False),
    "EC_ROAMING_NOT_ALLOWED": (8, False),
    "EC_ILLEGAL_SUBSCRIBER": (9, True),
    "EC_TELESERVICE_NOT_PROVISIONED": (11, True),
    "EC_ILLEGAL_EQUIPMENT": (12, True),
    "EC_CALL_BARRED": (13, False),
    "EC_ABSENT_SUBSCRIBER": (27, False),
    "EC_SUBSCRIBER_BUSY_FOR_MT_SMS": (31, False),
    "EC_SM_DELIVERY_FAILURE": (32, False),
    "EC_MESSAGE_WAITING_LIST_FULL": (33, False),
    "EC_SYSTEM_FAILURE": (34, False),
    "EC_DATA_MISSING": (35, False),
    "EC_UNEXPECTED_DATA_VALUE": (36, False),
    "EC_UNKNOWN_ERROR": (255, False),
    "EC_SM_DF_MEMORYCAPACITYEXCEEDED": (256, False),
    "EC_SM_DF_EQUIPMENTPROTOCOLERROR": (257, False),
    "EC_SM_DF_EQUIPMENTNOTSM_EQUIPPED": (258, False),
    "EC_SM_DF_UNKNOWNSERVICECENTRE": (259, False),
    "EC_SM_DF_SC_CONGESTION": (260, False),
    "EC_SM_DF_INVALIDSME_ADDRESS": (261, False),
    "EC_SM_DF_SUBSCRIBERNOTSC_SUBSCRIBER": (262, False),
    "EC_PROVIDER_GENERAL_ERROR": (500, False),
    "EC_NO_RESPONSE": (502, False),
    "EC_SERVICE_COMPLETION_FAILURE": (503, False),
    "EC_UNEXPECTED_RESPONSE_FROM_PEER": (504, False),
    "EC_MISTYPED_PARAMETER": (507, False),
    "EC_NOT_SUPPORTED_SERVICE": (508, False),
    "EC_DUPLICATED_INVOKE_ID": (509, False),
    "EC_OR_APPCONTEXTNOTSUPPORTED": (1024, False),
    "EC_OR_INVALIDDESTINATIONREFERENCE": (1025, False),
    "EC_OR_INVALIDORIGINATINGREFERENCE": (1026, False),
    "EC_OR_ENCAPSULATEDAC_NOTSUPPORTED": (1027, False),
    "EC_OR_TRANSPORTPROTECTIONNOTADEQUATE": (1028, False),
    "EC_OR_NOREASONGIVEN": (1029, False),
    "EC_OR_POTENTIALVERSIONINCOMPATIBILITY": (1030, False),
    "EC_OR_REMOTENODENOTREACHABLE": (1031, False),
    "EC_NNR_NOTRANSLATIONFORANADDRESSOFSUCHNATURE": (1152, False),
    "EC_NNR_NOTRANSLATIONFORTHISSPECIFICADDRESS": (1153, False),
    "EC_NNR_SUBSYSTEMCONGESTION": (1154, False),
    "EC_NNR_SUBSYSTEMFAILURE": (1155, False),
    "EC_NNR_UNEQUIPPEDUSER": (1156, False),
    "EC_NNR_MTPFAILURE": (1157, False),
    "EC_NNR_NETWORKCONGESTION": (1158, False),
    # User errors (group 2)
    "EC_IMSI_BLACKLISTED": (2049, True),
    "EC_BLACKLISTED_DESTINATIONADDRESS": (2052, True),
    "EC_BLACKLISTED_SENDERADDRESS": (2053, True),
    "EC_SOURCE_ADDRESS_BLACKLISTED": (2053, True),
    "EC_INVALID_PDU_FORMAT": (4096, True),
    "EC_MESSAGE_CANCELED": (4100, True),
    "EC_VALIDITYEXPIRED": (4101, True),
    "EC_NOTSUBMITTEDTOSMPPCHANNEL": (4102, True),
    "EC_DESTINATION_FLOODING": (4103, True),
    "EC_DESTINATION_TXT_FLOODING": (4104, True),
    # Operator errors (group 3)
    "EC_BEARER_SERVICE_NOT_PROVISIONED": (10, True),
    "EC_SS_INCOMPATIBILITY": (20, False),
    "EC_RESOURCE_LIMITATION": (51, True),
    "EC_UNKNOWN_ALPHABET": (71, False),
    "EC_INVALID_RESPONSE_RECEIVED": (501, False),
    "EC_TIME_OUT": (2048, False),
    "EC_DEST_ADDRESS_BLACKLISTED": (2050, True),
}
"""Infobip's error table (error-code reference, HLR/SMS errors): each name with its id and ``permanent``."""

DECISIONS: dict[tuple[str, str], tuple[str, ...]] = {
    # decision 2: absent or busy handsets are Not connected, whatever the flag
    ("Ignored", "Not connected"): ("EC_ABSENT_SUBSCRIBER_SM", "EC_ABSENT_SUBSCRIBER", "EC_SUBSCRIBER_BUSY_FOR_MT_SMS"),
    # decision 4: the sender, the message or the account's route, not the number
    ("Ignored", "Refused"): (
        "EC_BLACKLISTED_SENDERADDRESS",
        "EC_SOURCE_ADDRESS_BLACKLISTED",
        "EC_INVALID_PDU_FORMAT",
        "EC_NOTSUBMITTEDTOSMPPCHANNEL",
        "EC_DESTINATION_FLOODING",
        "EC_DESTINATION_TXT_FLOODING",
    ),
    ("Ignored", "Character not supported"): ("EC_UNKNOWN_ALPHABET",),
    # expiries are Soft / Unreachable like the EXPIRED statuses: permanent only says a resend expires too
    ("Soft", "Unreachable"): ("EC_MESSAGE_CANCELED", "EC_VALIDITYEXPIRED"),
}
DECIDED_OTHERWISE = {name: qualified for qualified, names in DECISIONS.items() for name in names}
"""The errors whose type a shared decision gives rather than the ``permanent`` flag."""


def test_every_error_of_infobips_table_is_qualified_hard_when_permanent() -> None:
    for name, (error_id, permanent) in INFOBIP_ERRORS.items():
        line = json.dumps(
            _result(status=_status("UNDELIVERABLE_NOT_DELIVERED"), error=_error(name, error_id, permanent))
        )
        (report,) = only_reports(list(parse_json(numbered(line), CTX)))
        row = seed_row("infobip", report.raw_status, report.error_code)
        assert row is not None
        assert row["error_code"] == name, f"{name} has no seed row"
        if name in DECIDED_OTHERWISE:
            assert (row["failure_type"], row["failure_reason"]) == DECIDED_OTHERWISE[name], name
        elif permanent:
            assert row["failure_type"] == "Hard", name
        else:
            assert row["failure_type"] == "Soft", name


def test_the_errors_named_in_issue_17_are_soft_as_infobip_does_not_flag_them_permanent() -> None:
    for name in ("EC_UNIDENTIFIED_SUBSCRIBER", "EC_ROAMING_NOT_ALLOWED", "EC_SM_DELIVERY_FAILURE"):
        row = seed_row("infobip", "UNDELIVERABLE_NOT_DELIVERED", name)
        assert row is not None
        assert (row["error_code"], row["failure_type"], row["failure_reason"]) == (name, "Soft", "Unreachable")
