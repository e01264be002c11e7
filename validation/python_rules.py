"""The rules of `validation.rules`, evaluated in Python.

It mirrors the Flink SQL rendering: the message's stored form, JSON as Jackson reads it
(strict about trailing content, with Jackson's limits), each member's text (numbers as
decimals, containers as Jackson's JSON text), trimming, exact amount checks and the
timestamp forms, so the two agree on every case of the parity table.
"""

from __future__ import annotations

import base64
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from contracts.currencies import MINOR_UNITS
from contracts.events import EventType, Kind
from contracts.reasons import Reason
from validation.rules import (
    EPOCH_MILLIS_FROM,
    EPOCH_MILLIS_MAX,
    EPOCH_PATTERN,
    JSON_MAX_DEPTH,
    JSON_MAX_NAME_LENGTH,
    JSON_MAX_NUMBER_DIGITS,
    MAX_AMOUNT,
    NULL_TOKENS,
    NUMERIC_PATTERN,
    RAW_PAYLOAD_BASE64_PREFIX,
    TIMESTAMP_ISO_PATTERN,
    TIMESTAMP_UTC_PATTERN,
    WHITESPACE,
)

_NUMERIC = re.compile(NUMERIC_PATTERN)
_TIMESTAMP_UTC = re.compile(TIMESTAMP_UTC_PATTERN)
_TIMESTAMP_ISO = re.compile(TIMESTAMP_ISO_PATTERN)
_EPOCH = re.compile(EPOCH_PATTERN)
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")
MAX_OFFSET_HOURS = 18


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _number(text: str) -> Decimal:
    if sum(c.isdigit() for c in text) > JSON_MAX_NUMBER_DIGITS:
        raise ValueError("number longer than Jackson reads")
    return Decimal(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if any(len(name.encode("utf-16-le")) // 2 > JSON_MAX_NAME_LENGTH for name, _ in pairs):
        raise ValueError("member name longer than Jackson reads")
    return dict(pairs)  # a repeated name: its last value, at its first place, as Jackson


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object,
    parse_float=_number,
    parse_int=_number,
    parse_constant=_reject_constant,
)


def stored_payload(message: bytes | None) -> str | None:
    """`raw_payload` of a message: its text if UTF-8, else the marked base64 of its bytes."""
    if message is None:
        return None
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not text.startswith(RAW_PAYLOAD_BASE64_PREFIX):
        return text
    return RAW_PAYLOAD_BASE64_PREFIX + base64.b64encode(message).decode("ascii")


def message_bytes(raw_payload: str) -> bytes:
    """The message's bytes from its `raw_payload`: the inverse of `stored_payload`."""
    if raw_payload.startswith(RAW_PAYLOAD_BASE64_PREFIX):
        return base64.b64decode(raw_payload[len(RAW_PAYLOAD_BASE64_PREFIX) :], validate=True)
    return raw_payload.encode("utf-8")


@dataclass
class Outcome:
    event_type: EventType
    reasons: list[Reason]
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.reasons

    @property
    def table(self) -> str:
        return self.event_type.bronze_table if self.valid else self.event_type.quarantine_table


def nesting_depth(text: str) -> int:
    """How deep the message's arrays and objects nest, outside strings."""
    if text.count("[") + text.count("{") <= JSON_MAX_DEPTH:
        return 0  # cannot be too deep: not worth the scan
    depth = deepest = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


@contextmanager
def recursion_room(frames: int = JSON_MAX_DEPTH + 100) -> Iterator[None]:
    """Room for `frames` more nested calls: json and the JSON text recurse per level."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + frames)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def parse_object(payload: str | None) -> dict[str, Any] | None:
    """The message as a JSON object, or None: anything but whitespace after it is not JSON."""
    if payload is None or nesting_depth(payload) > JSON_MAX_DEPTH:
        return None
    try:
        with recursion_room():
            value = _DECODER.decode(payload)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def number_text(value: Decimal) -> str:
    """A JSON number as Flink's JSON functions write it (Java's BigDecimal has no -0)."""
    return str(value.copy_abs() if value.is_zero() else value)


# Jackson's escapes: the short ones where JSON has them, \u00XX for other control characters.
_ESCAPES = {i: f"\\u{i:04X}" for i in range(0x20)} | {
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    ord("\b"): "\\b",
    ord("\t"): "\\t",
    ord("\n"): "\\n",
    ord("\f"): "\\f",
    ord("\r"): "\\r",
}


def json_text(value: Any) -> str:
    """Compact JSON text of a parsed value, as JSON_QUERY serialises it."""
    if isinstance(value, dict):
        members = (json_text(k) + ":" + json_text(v) for k, v in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.translate(_ESCAPES) + '"'
    if value is None:
        return "null"
    return json_value(value) or ""


def json_value(value: Any) -> str | None:
    """A member's text (`validation.rules`): scalars as text, containers as JSON text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return number_text(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json_text(value)
    return None


def clean_text(text: str | None) -> str | None:
    if text is None:
        return None
    trimmed = text.strip(WHITESPACE)
    return None if trimmed.lower() in NULL_TOKENS else trimmed


def normalise_text(kind: Kind, text: str | None) -> str | None:
    cleaned = clean_text(text)
    if cleaned is None:
        return None
    if kind is Kind.LOWER:
        return cleaned.lower()
    if kind is Kind.CURRENCY:
        return cleaned.upper()
    return cleaned


def parse_amount(text: str | None) -> Decimal | None:
    """The exact value of a numeric text within the grammar's bounds; None otherwise."""
    if text is None or not _NUMERIC.match(text):
        return None
    return Decimal(text)  # exact whatever the context: the grammar bounds its size


def decimals(value: Decimal) -> int:
    """How many decimals the value needs, trailing zeros ignored (10.50 -> 1, 1E+2 -> 0)."""
    if value.is_zero():
        return 0
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite: the grammar has no NaN or Infinity
    written = "".join(map(str, digits))
    return max(0, -(exponent + len(written) - len(written.rstrip("0"))))


def parse_number(text: str | None) -> float | None:
    if text is None or not _NUMERIC.match(text):
        return None
    return float(text)


def _utc_datetime(date_part: str, time_part: str) -> datetime:
    whole, _, fraction = time_part.partition(".")
    parsed = datetime.strptime(f"{date_part} {whole}", "%Y-%m-%d %H:%M:%S")
    micros = int(fraction.ljust(6, "0")) if fraction else 0
    return parsed.replace(microsecond=micros, tzinfo=UTC)


def parse_timestamp(text: str | None) -> datetime | None:
    """A timestamp in UTC, or None when `text` is none of the accepted forms."""
    if text is None:
        return None
    try:
        if match := _TIMESTAMP_UTC.match(text):
            return _utc_datetime(match.group(1), match.group(2))
        if match := _TIMESTAMP_ISO.match(text):
            local = _utc_datetime(match.group(1), match.group(2))
            offset = match.group(4)
            if offset == "Z":
                return local
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > MAX_OFFSET_HOURS or minutes > 59:
                return None
            sign = -1 if offset[0] == "-" else 1
            return local - sign * timedelta(hours=hours, minutes=minutes)
        if _EPOCH.match(text):
            number = int(text)
            if number < EPOCH_MILLIS_FROM:
                return datetime.fromtimestamp(number, tz=UTC)
            if number <= EPOCH_MILLIS_MAX:
                return datetime.fromtimestamp(number // 1000, tz=UTC) + timedelta(
                    milliseconds=number % 1000
                )
    except (ValueError, OverflowError):
        return None
    return None


def amount_reasons(
    event_type: EventType, text: str | None, amount: Decimal | None, minor_units: int | None
) -> list[Reason]:
    if text is None:
        return [Reason.MISSING_AMOUNT]
    if amount is None:
        return [Reason.INVALID_AMOUNT]
    reasons = []
    if amount < 0 or (amount == 0 and not event_type.zero_amount_allowed):
        reasons.append(Reason.INVALID_AMOUNT_NEGATIVE)
    if amount > MAX_AMOUNT:
        reasons.append(Reason.INVALID_AMOUNT_TOO_LARGE)
    if minor_units is not None and decimals(amount) > minor_units:
        reasons.append(Reason.INVALID_AMOUNT_PRECISION)
    return reasons


def validate(event_type: EventType, payload: str | bytes | None) -> Outcome:
    """Normalises one raw message (its bytes, or its stored text) and lists every check it
    fails, in contract order."""
    if isinstance(payload, bytes):
        payload = stored_payload(payload)
    document = parse_object(payload)
    if document is None:
        return Outcome(event_type, [Reason.MALFORMED_JSON])

    with recursion_room():
        texts = {f.name: json_value(document.get(f.name)) for f in event_type.fields}
    values: dict[str, Any] = {}
    for f in event_type.fields:
        if f.kind is Kind.AMOUNT:
            continue
        if f.kind is Kind.TIMESTAMP:
            values[f.name] = parse_timestamp(clean_text(texts[f.name]))
        elif f.kind is Kind.NUMBER:
            values[f.name] = parse_number(clean_text(texts[f.name]))
        else:
            values[f.name] = normalise_text(f.kind, texts[f.name])

    currency = values["currency"]
    minor_units = MINOR_UNITS.get(currency) if currency is not None else None
    amount_text = clean_text(texts["amount"])
    amount = parse_amount(amount_text)
    created_at_text = clean_text(texts["created_at"])

    reasons: list[Reason] = []
    if values[event_type.id_field] is None:
        reasons.append(event_type.missing_id_reason)
    if values[event_type.reference_field] is None:
        reasons.append(event_type.missing_reference_reason)
    if currency is None:
        reasons.append(Reason.MISSING_CURRENCY)
    elif minor_units is None:
        reasons.append(Reason.INVALID_CURRENCY)
    reasons += amount_reasons(event_type, amount_text, amount, minor_units)
    if created_at_text is None:
        reasons.append(Reason.MISSING_CREATED_AT)
    elif values["created_at"] is None:
        reasons.append(Reason.INVALID_TIMESTAMP)
    if values["status"] is None:
        reasons.append(Reason.MISSING_STATUS)
    elif values["status"] not in event_type.statuses:
        reasons.append(Reason.INVALID_STATUS)

    if not reasons and amount is not None and minor_units is not None:
        values["amount"] = amount.quantize(Decimal("0.0001"))
        values["amount_minor"] = int(amount.scaleb(minor_units))
    else:
        values["amount"] = None
        values["amount_minor"] = None
    return Outcome(event_type, reasons, values)
