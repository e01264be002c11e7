"""Sorting generated messages into the kinds of dirt contract §4 names, for the tests.

This is not the validator: it only tells which deliberate flaws the JR templates put in a
message, so the tests can count them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

# Contract §4: the raw fields of each event type.
FIELDS: dict[str, tuple[str, ...]] = {
    "charges": (
        "charge_id", "customer_id", "merchant_id", "amount", "currency", "status", "provider",
        "payment_method", "card_brand", "card_last4", "country", "failure_code",
        "failure_message", "risk_score", "created_at",
    ),
    "refunds": (
        "refund_id", "charge_id", "customer_id", "amount", "currency", "reason", "status",
        "provider", "support_ticket_id", "created_at",
    ),
    "disputes": (
        "dispute_id", "charge_id", "customer_id", "amount", "currency", "reason", "status",
        "evidence_due_by", "provider", "created_at",
    ),
    "subscriptions": (
        "subscription_id", "customer_id", "plan_id", "status", "amount", "currency",
        "billing_interval", "trial_start", "trial_end", "promo_code", "discount_pct",
        "provider", "created_at",
    ),
}  # fmt: skip
ID_FIELD = {
    "charges": "charge_id",
    "refunds": "refund_id",
    "disputes": "dispute_id",
    "subscriptions": "subscription_id",
}
REFERENCE_FIELD = {
    "charges": "customer_id",
    "refunds": "charge_id",
    "disputes": "charge_id",
    "subscriptions": "customer_id",
}
STATUSES = {
    "charges": {"succeeded", "pending", "failed"},
    "refunds": {"pending", "succeeded", "failed", "canceled", "requires_action"},
    "disputes": {
        "warning_needs_response", "warning_under_review", "warning_closed", "needs_response",
        "under_review", "won", "lost",
    },
    "subscriptions": {
        "incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled",
        "unpaid", "paused",
    },
}  # fmt: skip
NULL_TOKENS = {"", "null", "none", "nil", "undefined", "n/a"}
MISSING_KEY = "<missing key>"
JSON_NULL = "<JSON null>"

NUMERIC = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
UTC_FORM = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$")
ISO_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")
CHARGE_ID = re.compile(r"^ch_(\d{9})(\d{6})$")

# Dirt that contract §4 rejects a message for.
REJECTED = (
    "malformed", "missing_id", "missing_reference", "missing_currency", "invalid_currency",
    "missing_amount", "non_numeric_amount", "negative_amount", "zero_amount", "huge_amount",
    "over_precise_amount", "missing_created_at", "invalid_created_at", "missing_status",
    "invalid_status",
)  # fmt: skip


def generator_currencies(templates_dir: Path) -> dict[str, int]:
    """The currencies the templates draw from, with their minor units (the "money" table)."""
    common = (templates_dir / "_common.tpl").read_text()
    return {code: int(exp) for code, exp in re.findall(r"([A-Z]{3}):(\d):[A-Z,]+:\d+:", common)}


def null_spelling(obj: dict[str, Any], name: str) -> str | None:
    """How the field is null, or None when it has a value."""
    if name not in obj:
        return MISSING_KEY
    value = obj[name]
    if value is None:
        return JSON_NULL
    if isinstance(value, str) and value.strip().lower() in NULL_TOKENS:
        return value
    return None


def decimals(amount: Decimal) -> int:
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def timestamp_form(value: Any) -> tuple[str, datetime | None]:
    """Which accepted form a timestamp is in and its instant, or ("invalid", None)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value >= 100_000_000_000:
            return "epoch_millis", datetime.fromtimestamp(value / 1000, UTC)
        return "epoch_seconds", datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return "invalid", None
    text = value.strip()
    try:
        if UTC_FORM.match(text):
            form = "utc_fraction" if "." in text else "utc"
            return form, datetime.fromisoformat(text).replace(tzinfo=UTC)
        if ISO_FORM.match(text):
            form = "iso_z" if text.endswith("Z") else "iso_offset"
            return form, datetime.fromisoformat(text)
    except ValueError:
        pass
    return "invalid", None


@dataclass
class Census:
    """What a batch of generated messages holds."""

    event_type: str
    total: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    null_spellings: Counter[str] = field(default_factory=Counter)
    objects: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0
    # (key, id) for each message whose id is usable
    keyed: list[tuple[str, str]] = field(default_factory=list)
    unkeyed_keys: Counter[str] = field(default_factory=Counter)

    def rate(self, category: str) -> float:
        return self.counts[category] / self.total


def parse(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line, parse_float=Decimal)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def census(
    event_type: str, lines: list[str], currencies: dict[str, int], keys: list[str] | None = None
) -> Census:
    result = Census(event_type)
    for index, line in enumerate(lines):
        result.total += 1
        obj = parse(line)
        found = classify(event_type, obj, currencies, result)
        if found & set(REJECTED):
            result.rejected += 1
        result.counts.update(found)
        if obj is not None:
            result.objects.append(obj)
        if keys is not None:
            identifier = obj.get(ID_FIELD[event_type]) if obj else None
            if "missing_id" not in found and isinstance(identifier, str) and obj is not None:
                result.keyed.append((keys[index], identifier))
            else:
                result.unkeyed_keys[keys[index]] += 1
    return result


def classify(
    event_type: str, obj: dict[str, Any] | None, currencies: dict[str, int], into: Census
) -> set[str]:
    if obj is None:
        return {"malformed"}
    found: set[str] = set()
    for name in FIELDS[event_type]:
        spelling = null_spelling(obj, name)
        if spelling is not None:
            into.null_spellings[spelling] += 1
    if null_spelling(obj, ID_FIELD[event_type]) is not None:
        found.add("missing_id")
    if null_spelling(obj, REFERENCE_FIELD[event_type]) is not None:
        found.add("missing_reference")
    exponent = _classify_currency(obj, currencies, found)
    _classify_amount(event_type, obj, exponent, found)
    if null_spelling(obj, "created_at") is not None:
        found.add("missing_created_at")
    else:
        form, _ = timestamp_form(obj["created_at"])
        found.add("invalid_created_at" if form == "invalid" else f"created_at_{form}")
    if null_spelling(obj, "status") is not None:
        found.add("missing_status")
    else:
        status = str(obj["status"])
        if status.strip().lower() not in STATUSES[event_type]:
            found.add("invalid_status")
        elif status != status.strip().lower():
            found.add("cosmetic_status")
    return found


def _classify_currency(obj: dict[str, Any], currencies: dict[str, int], found: set[str]):
    if null_spelling(obj, "currency") is not None:
        found.add("missing_currency")
        return None
    raw = str(obj["currency"])
    code = raw.strip().upper()
    if code not in currencies:
        found.add("invalid_currency")
        return None
    if raw != code:
        found.add("cosmetic_currency")
    return currencies[code]


def _classify_amount(event_type: str, obj: dict[str, Any], exponent: int | None, found: set[str]):
    if null_spelling(obj, "amount") is not None:
        found.add("missing_amount")
        return
    value = obj["amount"]
    if isinstance(value, str):
        if not NUMERIC.match(value.strip()):
            found.add("non_numeric_amount")
            return
        found.add("string_amount")
        amount = Decimal(value.strip())
    elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        found.add("number_amount")
        amount = Decimal(value)
    else:
        found.add("non_numeric_amount")
        return
    try:
        places = decimals(amount)
    except InvalidOperation:
        found.add("non_numeric_amount")
        return
    if amount < 0:
        found.add("negative_amount")
    elif amount == 0:
        found.add("zero_amount" if event_type != "subscriptions" else "free_amount")
    elif amount > 1_000_000:
        found.add("huge_amount")
    if exponent is not None and places > exponent:
        found.add("over_precise_amount")
