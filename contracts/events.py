"""The JR event types of contract §4: their raw topic, id, the reference each cannot live
without, their fields with how each is normalised, and their status sets.

The rules that judge them (null tokens, number grammar, bounds) are `validation.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts.reasons import Reason


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
        """Each raw topic has a bronze table of the same name (contract §3)."""
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
