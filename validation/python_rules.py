"""The rules of `validation.rules`, evaluated in Python.

It mirrors the Flink SQL rendering step by step (JSON text of numbers, trimming, decimal
parsing and rounding, timestamp forms), so the two agree on every case of the parity table.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from typing import Any

from validation.currencies import MINOR_UNITS
from validation.rules import (
    AMOUNT_PARSE_PRECISION,
    AMOUNT_PARSE_SCALE,
    EPOCH_MILLIS_FROM,
    EPOCH_MILLIS_MAX,
    EPOCH_PATTERN,
    MAX_AMOUNT,
    NULL_TOKENS,
    NUMERIC_PATTERN,
    TIMESTAMP_ISO_PATTERN,
    TIMESTAMP_UTC_PATTERN,
    WHITESPACE,
    EventType,
    Kind,
    Reason,
)

_NUMERIC = re.compile(NUMERIC_PATTERN)
_TIMESTAMP_UTC = re.compile(TIMESTAMP_UTC_PATTERN)
_TIMESTAMP_ISO = re.compile(TIMESTAMP_ISO_PATTERN)
_EPOCH = re.compile(EPOCH_PATTERN)
_SCALE = Decimal(1).scaleb(-AMOUNT_PARSE_SCALE)
_INTEGER_DIGITS = AMOUNT_PARSE_PRECISION - AMOUNT_PARSE_SCALE
_DECIMAL_CONTEXT = Context(prec=AMOUNT_PARSE_PRECISION + 10, rounding=ROUND_HALF_UP)
MAX_OFFSET_HOURS = 18


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant)


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


def parse_object(payload: str | None) -> dict[str, Any] | None:
    """The message as a JSON object, or None; like Jackson, text after the object is ignored."""
    if payload is None:
        return None
    text = payload.strip(WHITESPACE)
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        value, _ = _DECODER.raw_decode(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def json_value(value: Any) -> str | None:
    """What SQL's JSON_VALUE returns for a member: scalars as text, containers as NULL."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return value
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
    """DECIMAL(38, 18) of a numeric text, rounded half-up; None when not numeric or too big."""
    if text is None or not _NUMERIC.match(text):
        return None
    with localcontext(_DECIMAL_CONTEXT):
        try:
            value = Decimal(text)
            if value.is_zero():
                return Decimal(0).quantize(_SCALE)
            if value.adjusted() >= _INTEGER_DIGITS:
                return None
            rounded = value.quantize(_SCALE)
        except InvalidOperation:
            return None
    return None if rounded.adjusted() >= _INTEGER_DIGITS else rounded


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
    if minor_units is not None and amount.scaleb(minor_units) % 1 != 0:
        reasons.append(Reason.INVALID_AMOUNT_PRECISION)
    return reasons


def validate(event_type: EventType, payload: str | None) -> Outcome:
    """Normalises one raw message and lists every check it fails, in contract order."""
    document = parse_object(payload)
    if document is None:
        return Outcome(event_type, [Reason.MALFORMED_JSON])

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
