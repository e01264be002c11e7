"""Contract §4 as data: null tokens, field kinds, bounds, status sets and reason order.

Nothing here knows about SQL or Python evaluation; `flink_sql` and `python_rules` render
these definitions, and a parity test runs one case table through both.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

# Strings that mean "no value" once trimmed and compared case-insensitively.
NULL_TOKENS: tuple[str, ...] = ("", "null", "none", "nil", "undefined", "n/a")

# What "trimmed" removes, at both ends: ASCII whitespace (the same class in Java and Python).
WHITESPACE = " \t\n\r"

# A numeric text: optional sign, digits with an optional fraction, optional exponent.
NUMERIC_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"

# Amounts are parsed as DECIMAL(38, 18): what does not fit is not an amount.
AMOUNT_PARSE_PRECISION = 38
AMOUNT_PARSE_SCALE = 18
MAX_AMOUNT = Decimal("1000000")

# Timestamps: `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC), ISO 8601 with `Z` or `±hh:mm`, or epoch
# seconds / milliseconds as an integer. Integers below EPOCH_MILLIS_FROM are seconds.
TIMESTAMP_UTC_PATTERN = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2}) ([0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?)$"
)
TIMESTAMP_ISO_PATTERN = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?)"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
EPOCH_PATTERN = r"^[0-9]{1,15}$"
EPOCH_MILLIS_FROM = 100_000_000_000  # 1e11 s would be the year 5138
EPOCH_MILLIS_MAX = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


class Reason(StrEnum):
    MALFORMED_JSON = "MALFORMED_JSON"
    MISSING_CHARGE_ID = "MISSING_CHARGE_ID"
    MISSING_REFUND_ID = "MISSING_REFUND_ID"
    MISSING_DISPUTE_ID = "MISSING_DISPUTE_ID"
    MISSING_SUBSCRIPTION_ID = "MISSING_SUBSCRIPTION_ID"
    MISSING_CUSTOMER_ID = "MISSING_CUSTOMER_ID"
    MISSING_CURRENCY = "MISSING_CURRENCY"
    INVALID_CURRENCY = "INVALID_CURRENCY"
    MISSING_AMOUNT = "MISSING_AMOUNT"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    INVALID_AMOUNT_NEGATIVE = "INVALID_AMOUNT_NEGATIVE"
    INVALID_AMOUNT_TOO_LARGE = "INVALID_AMOUNT_TOO_LARGE"
    INVALID_AMOUNT_PRECISION = "INVALID_AMOUNT_PRECISION"
    MISSING_CREATED_AT = "MISSING_CREATED_AT"
    INVALID_TIMESTAMP = "INVALID_TIMESTAMP"
    MISSING_STATUS = "MISSING_STATUS"
    INVALID_STATUS = "INVALID_STATUS"


class Kind(StrEnum):
    """How a raw field is normalised, and the column type it is stored as."""

    TEXT = "text"  # null-like -> NULL, trimmed
    LOWER = "lower"  # ... and lower-cased
    CURRENCY = "currency"  # ... and upper-cased
    AMOUNT = "amount"  # DECIMAL(18,4) in major units, plus amount_minor
    TIMESTAMP = "timestamp"  # timestamp with time zone, UTC
    NUMBER = "number"  # a double; a non-numeric value is stored as NULL


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True)
class EventType:
    name: str  # charges, refunds, ...
    topic: str
    id_field: str
    # The reference the event cannot live without, and the reason when it is missing.
    reference_field: str
    fields: tuple[Field, ...]
    statuses: tuple[str, ...]
    # Subscriptions may cost 0 (a free trial); everything else must be positive.
    zero_amount_allowed: bool = False

    @property
    def bronze_table(self) -> str:
        return self.topic

    @property
    def quarantine_table(self) -> str:
        return f"quarantine_{self.topic}"

    @property
    def missing_id_reason(self) -> Reason:
        return Reason(f"MISSING_{self.id_field.upper()}")

    @property
    def missing_reference_reason(self) -> Reason:
        return Reason(f"MISSING_{self.reference_field.upper()}")

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def _fields(*specs: str | Field) -> tuple[Field, ...]:
    return tuple(spec if isinstance(spec, Field) else Field(spec) for spec in specs)


AMOUNT = Field("amount", Kind.AMOUNT)
CURRENCY = Field("currency", Kind.CURRENCY)
STATUS = Field("status", Kind.LOWER)
PROVIDER = Field("provider", Kind.LOWER)
CREATED_AT = Field("created_at", Kind.TIMESTAMP)

CHARGES = EventType(
    name="charges",
    topic="payment_charges",
    id_field="charge_id",
    reference_field="customer_id",
    fields=_fields(
        "charge_id",
        "customer_id",
        "merchant_id",
        AMOUNT,
        CURRENCY,
        STATUS,
        PROVIDER,
        "payment_method",
        Field("card_brand", Kind.LOWER),
        "card_last4",
        "country",
        "failure_code",
        "failure_message",
        Field("risk_score", Kind.NUMBER),
        CREATED_AT,
    ),
    statuses=("succeeded", "pending", "failed"),
)

REFUNDS = EventType(
    name="refunds",
    topic="payment_refunds",
    id_field="refund_id",
    reference_field="charge_id",
    fields=_fields(
        "refund_id",
        "charge_id",
        "customer_id",
        AMOUNT,
        CURRENCY,
        Field("reason", Kind.LOWER),
        STATUS,
        PROVIDER,
        "support_ticket_id",
        CREATED_AT,
    ),
    statuses=("pending", "succeeded", "failed", "canceled", "requires_action"),
)

DISPUTES = EventType(
    name="disputes",
    topic="payment_disputes",
    id_field="dispute_id",
    reference_field="charge_id",
    fields=_fields(
        "dispute_id",
        "charge_id",
        "customer_id",
        AMOUNT,
        CURRENCY,
        Field("reason", Kind.LOWER),
        STATUS,
        Field("evidence_due_by", Kind.TIMESTAMP),
        PROVIDER,
        CREATED_AT,
    ),
    statuses=(
        "warning_needs_response",
        "warning_under_review",
        "warning_closed",
        "needs_response",
        "under_review",
        "won",
        "lost",
    ),
)

SUBSCRIPTIONS = EventType(
    name="subscriptions",
    topic="payment_subscriptions",
    id_field="subscription_id",
    reference_field="customer_id",
    fields=_fields(
        "subscription_id",
        "customer_id",
        "plan_id",
        STATUS,
        AMOUNT,
        CURRENCY,
        Field("billing_interval", Kind.LOWER),
        Field("trial_start", Kind.TIMESTAMP),
        Field("trial_end", Kind.TIMESTAMP),
        "promo_code",
        Field("discount_pct", Kind.NUMBER),
        PROVIDER,
        CREATED_AT,
    ),
    statuses=(
        "incomplete",
        "incomplete_expired",
        "trialing",
        "active",
        "past_due",
        "canceled",
        "unpaid",
        "paused",
    ),
    zero_amount_allowed=True,
)

EVENT_TYPES: tuple[EventType, ...] = (CHARGES, REFUNDS, DISPUTES, SUBSCRIPTIONS)
EVENT_TYPES_BY_NAME = {event_type.name: event_type for event_type in EVENT_TYPES}
