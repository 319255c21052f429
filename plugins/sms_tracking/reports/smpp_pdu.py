"""A small, strict decoder for SMPP 3.4 ``deliver_sm`` PDUs given as hex dumps.

Some sources land whole PDUs as captured on the wire (e.g. from an SMPP proxy log) instead of the
receipt text alone. Only ``deliver_sm`` is decoded (SMPP 3.4 §4.6.1): that is the PDU that carries
delivery receipts and mobile-originated messages to us. The layout is checked byte by byte
(``command_length`` must equal the bytes given, C-octet strings must be NUL-terminated, the
short message and every TLV must fit), and any violation raises :class:`PduError` with the reason,
so the adapter can reject the line. Optional parameters (TLVs) are kept as they come: tags this
module does not know (vendor-specific 0x1400-0x3FFF and others) are kept raw, never an error.
The maximum lengths of the C-octet strings are not enforced: real SMSCs exceed them and the
values are still readable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DELIVER_SM = 0x00000005
HEADER_LENGTH = 16

TAG_DEST_NETWORK_TYPE = 0x0006
TAG_SOURCE_NETWORK_TYPE = 0x000E
TAG_RECEIPTED_MESSAGE_ID = 0x001E
TAG_NETWORK_ERROR_CODE = 0x0423
TAG_MESSAGE_PAYLOAD = 0x0424
TAG_MORE_MESSAGES_TO_SEND = 0x0426
TAG_MESSAGE_STATE = 0x0427

ESM_CLASS_TYPE_MASK = 0x3C
"""Bits 5-2 of esm_class: the message type of a deliver_sm (SMPP 3.4 §5.2.12)."""
ESM_CLASS_RECEIPT_TYPES = frozenset({0x04, 0x08, 0x20})
"""SMSC delivery receipt, SME delivery acknowledgement, intermediate delivery notification."""
ESM_CLASS_UDHI = 0x40
"""The short message starts with a user data header (concatenation, ports...)."""

DATA_CODING_UCS2 = 0x08

_COMMAND_NAMES = {
    0x00000004: "submit_sm",
    0x80000004: "submit_sm_resp",
    0x80000005: "deliver_sm_resp",
    0x00000103: "data_sm",
    0x80000103: "data_sm_resp",
}
_NON_HEX = re.compile(r"\s+")


class PduError(ValueError):
    """The bytes are not a well-formed deliver_sm; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Tlv:
    """One optional parameter as it came: tag, value bytes (length is ``len(value)``)."""

    tag: int
    value: bytes


@dataclass(frozen=True, slots=True)
class NetworkErrorCode:
    """network_error_code (0x0423), readable in both forms SMSCs send.

    The spec form is 3 bytes: network type (1 ANSI-136, 2 IS-95, 3 GSM, ...) then a 2-byte error
    code. Some SMSCs send three ASCII digits instead (``"000"``); ``network_type`` is then None.
    ``text`` is the code as a receipt's ``err:`` would carry it: the ASCII digits, or the binary
    error code as three decimal digits; any other shape is shown in hex so it is never lost.
    """

    raw: bytes
    network_type: int | None
    error: int | None
    text: str


def hex_to_bytes(text: str) -> bytes:
    """Read a hex dump, ignoring whitespace anywhere (``"00 00 00 e4"`` or one long string)."""
    digits = _NON_HEX.sub("", text)
    if len(digits) % 2:
        raise PduError(f"hex dump has an odd number of digits ({len(digits)})")
    try:
        return bytes.fromhex(digits)
    except ValueError as exc:
        raise PduError(f"not a hex dump: {exc}") from exc


def decode_text(data: bytes) -> str:
    """Receipt and address bytes are ASCII in practice: UTF-8 when valid, else latin-1 (never fails)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def decode_user_text(data: bytes, data_coding: int) -> str:
    """Decode a message body by its data_coding: UCS-2 (0x08) as UTF-16-BE, else :func:`decode_text`.

    GSM 03.38 septets (data_coding 0 on some SMSCs) are not mapped: their ASCII subset reads the
    same, which is what receipts and keywords such as STOP use.
    """
    if data_coding == DATA_CODING_UCS2 and len(data) % 2 == 0:
        return data.decode("utf-16-be", errors="replace")
    return decode_text(data)


@dataclass(frozen=True, slots=True)
class DeliverSm:
    """A decoded deliver_sm: header, mandatory fields in spec order, short message and TLVs."""

    command_length: int
    command_id: int
    command_status: int
    sequence_number: int
    service_type: str
    source_addr_ton: int
    source_addr_npi: int
    source_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    destination_addr: str
    esm_class: int
    protocol_id: int
    priority_flag: int
    schedule_delivery_time: str
    validity_period: str
    registered_delivery: int
    replace_if_present_flag: int
    data_coding: int
    sm_default_msg_id: int
    short_message: bytes
    tlvs: tuple[Tlv, ...]

    @property
    def sm_length(self) -> int:
        """Length of the short_message field (0 when the body is in message_payload)."""
        return len(self.short_message)

    @property
    def is_receipt(self) -> bool:
        """esm_class marks a receipt; anything else is a mobile-originated message."""
        return (self.esm_class & ESM_CLASS_TYPE_MASK) in ESM_CLASS_RECEIPT_TYPES

    def tlv(self, tag: int) -> bytes | None:
        """Value of the first TLV with this tag, None when absent."""
        for item in self.tlvs:
            if item.tag == tag:
                return item.value
        return None

    @property
    def message_payload(self) -> bytes | None:
        """message_payload (0x0424): the body when it does not fit short_message."""
        return self.tlv(TAG_MESSAGE_PAYLOAD)

    @property
    def user_data(self) -> bytes:
        """The message body: short_message, or message_payload when sm_length is 0."""
        if self.short_message:
            return self.short_message
        return self.message_payload or b""

    @property
    def receipted_message_id(self) -> str | None:
        """receipted_message_id (0x001E), a C-octet string: trailing NULs removed; None if absent/empty."""
        value = self.tlv(TAG_RECEIPTED_MESSAGE_ID)
        if value is None:
            return None
        text = decode_text(value.split(b"\x00", 1)[0]).strip()
        return text or None

    @property
    def message_state(self) -> int | None:
        """message_state (0x0427): 1 byte per spec; ASCII digits tolerated; None when unreadable."""
        value = self.tlv(TAG_MESSAGE_STATE)
        if not value:
            return None
        if len(value) == 1:
            # A lone ASCII digit ("2" = 0x32) cannot be a binary state (they are 0-9): read the digit.
            return value[0] - 0x30 if 0x30 <= value[0] <= 0x39 else value[0]
        digits = value.rstrip(b"\x00")
        if digits.isdigit():
            return int(digits)
        return None

    @property
    def network_error_code(self) -> NetworkErrorCode | None:
        """network_error_code (0x0423) in its binary or ASCII form, None when absent."""
        value = self.tlv(TAG_NETWORK_ERROR_CODE)
        if value is None:
            return None
        digits = value.rstrip(b"\x00")
        if digits and digits.isdigit():
            return NetworkErrorCode(value, None, int(digits), digits.decode("ascii"))
        if len(value) == 3:
            error = int.from_bytes(value[1:3], "big")
            return NetworkErrorCode(value, value[0], error, f"{error:03d}")
        return NetworkErrorCode(value, None, None, value.hex())


class _Reader:
    """Cursor over the PDU body that raises :class:`PduError` instead of reading past the end."""

    def __init__(self, data: bytes, start: int) -> None:
        self.data = data
        self.pos = start

    def octet(self, name: str) -> int:
        if self.pos >= len(self.data):
            raise PduError(f"PDU ends before {name} (offset {self.pos})")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def c_string(self, name: str) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise PduError(f"{name} at offset {self.pos} is not NUL-terminated")
        value = decode_text(self.data[self.pos : end])
        self.pos = end + 1
        return value

    def octets(self, count: int, name: str) -> bytes:
        left = len(self.data) - self.pos
        if count > left:
            raise PduError(f"{name} runs past the end of the PDU ({count} bytes at offset {self.pos}, {left} left)")
        value = self.data[self.pos : self.pos + count]
        self.pos += count
        return value


def decode_deliver_sm(data: bytes) -> DeliverSm:
    """Decode one whole deliver_sm PDU (header included); raise :class:`PduError` if malformed."""
    if len(data) < HEADER_LENGTH:
        raise PduError(f"PDU is {len(data)} bytes, shorter than the {HEADER_LENGTH}-byte header")
    command_length = int.from_bytes(data[0:4], "big")
    command_id = int.from_bytes(data[4:8], "big")
    command_status = int.from_bytes(data[8:12], "big")
    sequence_number = int.from_bytes(data[12:16], "big")
    if command_length != len(data):
        raise PduError(f"command_length {command_length} does not match the {len(data)} bytes given")
    if command_id != DELIVER_SM:
        name = _COMMAND_NAMES.get(command_id, "unknown command")
        raise PduError(f"command_id 0x{command_id:08X} ({name}) is not deliver_sm (0x{DELIVER_SM:08X})")

    body = _Reader(data, HEADER_LENGTH)
    service_type = body.c_string("service_type")
    source_addr_ton = body.octet("source_addr_ton")
    source_addr_npi = body.octet("source_addr_npi")
    source_addr = body.c_string("source_addr")
    dest_addr_ton = body.octet("dest_addr_ton")
    dest_addr_npi = body.octet("dest_addr_npi")
    destination_addr = body.c_string("destination_addr")
    esm_class = body.octet("esm_class")
    protocol_id = body.octet("protocol_id")
    priority_flag = body.octet("priority_flag")
    schedule_delivery_time = body.c_string("schedule_delivery_time")
    validity_period = body.c_string("validity_period")
    registered_delivery = body.octet("registered_delivery")
    replace_if_present_flag = body.octet("replace_if_present_flag")
    data_coding = body.octet("data_coding")
    sm_default_msg_id = body.octet("sm_default_msg_id")
    sm_length = body.octet("sm_length")
    short_message = body.octets(sm_length, f"short_message (sm_length {sm_length})")

    tlvs: list[Tlv] = []
    while body.pos < len(data):
        header = body.octets(4, "TLV header")
        tag = int.from_bytes(header[0:2], "big")
        length = int.from_bytes(header[2:4], "big")
        tlvs.append(Tlv(tag, body.octets(length, f"TLV 0x{tag:04X} (length {length})")))

    return DeliverSm(
        command_length=command_length,
        command_id=command_id,
        command_status=command_status,
        sequence_number=sequence_number,
        service_type=service_type,
        source_addr_ton=source_addr_ton,
        source_addr_npi=source_addr_npi,
        source_addr=source_addr,
        dest_addr_ton=dest_addr_ton,
        dest_addr_npi=dest_addr_npi,
        destination_addr=destination_addr,
        esm_class=esm_class,
        protocol_id=protocol_id,
        priority_flag=priority_flag,
        schedule_delivery_time=schedule_delivery_time,
        validity_period=validity_period,
        registered_delivery=registered_delivery,
        replace_if_present_flag=replace_if_present_flag,
        data_coding=data_coding,
        sm_default_msg_id=sm_default_msg_id,
        short_message=short_message,
        tlvs=tuple(tlvs),
    )
