"""Stripe events (https://docs.stripe.com/api/events) as the unified event.

The envelope: `id` (evt_...), `type`, `created` (epoch seconds), `account` (a connected
account; absent for the platform's own events, which the gateway keys as `platform`),
`data.object` (a payment_intent, charge, refund, dispute or subscription). Amounts are
integer minor units and currencies lower-case ISO codes, as Stripe sends them.
"""

from __future__ import annotations

from contracts.topics import STRIPE_RAW
from normalization.mapping import (
    ByStatus,
    Const,
    EventMapping,
    JsonFragment,
    Path,
    ProviderMapping,
    first_of,
)

OBJECT = "$.data.object"

PAYMENT_INTENTS = EventMapping(
    provider_types=(
        "payment_intent.created",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
    ),
    event_type={
        "payment_intent.created": "payment.pending",
        "payment_intent.processing": "payment.pending",
        "payment_intent.requires_action": "payment.pending",
        "payment_intent.succeeded": "payment.succeeded",
        "payment_intent.payment_failed": "payment.failed",
        "payment_intent.canceled": "payment.canceled",
    },
    columns={
        "object_id": Path(f"{OBJECT}.id"),
        "customer_id": Path(f"{OBJECT}.customer"),
        "amount_minor": Path(f"{OBJECT}.amount"),
        "currency": Path(f"{OBJECT}.currency"),
        # The failed attempt's method when there is one, else the first one allowed.
        "payment_method_type": first_of(
            f"{OBJECT}.last_payment_error.payment_method.type", f"{OBJECT}.payment_method_types[0]"
        ),
        "card_brand": Path(f"{OBJECT}.last_payment_error.payment_method.card.brand"),
        "card_last_four": Path(f"{OBJECT}.last_payment_error.payment_method.card.last4"),
        "status": Path(f"{OBJECT}.status"),
        "failure_code": Path(f"{OBJECT}.last_payment_error.code"),
        "failure_message": Path(f"{OBJECT}.last_payment_error.message"),
    },
    metadata={
        "decline_code": JsonFragment(f"{OBJECT}.last_payment_error.decline_code"),
        "latest_charge": JsonFragment(f"{OBJECT}.latest_charge"),
        "cancellation_reason": JsonFragment(f"{OBJECT}.cancellation_reason"),
    },
)

_CHARGE_COLUMNS = {
    "object_id": Path(f"{OBJECT}.id"),
    "customer_id": Path(f"{OBJECT}.customer"),
    "amount_minor": Path(f"{OBJECT}.amount"),
    "currency": Path(f"{OBJECT}.currency"),
    "payment_method_type": Path(f"{OBJECT}.payment_method_details.type"),
    "card_brand": Path(f"{OBJECT}.payment_method_details.card.brand"),
    "card_last_four": Path(f"{OBJECT}.payment_method_details.card.last4"),
    "status": Path(f"{OBJECT}.status"),
    "failure_code": Path(f"{OBJECT}.failure_code"),
    "failure_message": Path(f"{OBJECT}.failure_message"),
}
_CHARGE_METADATA = {
    "payment_intent": JsonFragment(f"{OBJECT}.payment_intent"),
    "card_country": JsonFragment(f"{OBJECT}.payment_method_details.card.country"),
    "outcome_type": JsonFragment(f"{OBJECT}.outcome.type"),
    "risk_level": JsonFragment(f"{OBJECT}.outcome.risk_level"),
}

CHARGES = EventMapping(
    provider_types=("charge.pending", "charge.succeeded", "charge.captured", "charge.failed"),
    event_type={
        "charge.pending": "payment.pending",
        "charge.succeeded": "payment.succeeded",
        "charge.captured": "payment.succeeded",
        "charge.failed": "payment.failed",
    },
    columns=_CHARGE_COLUMNS,
    metadata=_CHARGE_METADATA,
)

# A refunded charge: the amount is what has been refunded of it so far.
REFUNDED_CHARGES = EventMapping(
    provider_types=("charge.refunded",),
    event_type="refund.succeeded",
    columns=_CHARGE_COLUMNS | {"amount_minor": Path(f"{OBJECT}.amount_refunded")},
    metadata=_CHARGE_METADATA | {"charge_amount": JsonFragment(f"{OBJECT}.amount")},
)

REFUNDS = EventMapping(
    provider_types=("refund.created", "refund.updated", "charge.refund.updated"),
    event_type=ByStatus(
        {
            "pending": "refund.pending",
            "requires_action": "refund.pending",
            "succeeded": "refund.succeeded",
            "failed": "refund.failed",
            "canceled": "refund.failed",
        }
    ),
    columns={
        "object_id": Path(f"{OBJECT}.id"),
        "amount_minor": Path(f"{OBJECT}.amount"),
        "currency": Path(f"{OBJECT}.currency"),
        "status": Path(f"{OBJECT}.status"),
        "failure_code": Path(f"{OBJECT}.failure_reason"),
    },
    metadata={
        "charge": JsonFragment(f"{OBJECT}.charge"),
        "payment_intent": JsonFragment(f"{OBJECT}.payment_intent"),
        "reason": JsonFragment(f"{OBJECT}.reason"),
    },
)

DISPUTES = EventMapping(
    provider_types=("charge.dispute.created", "charge.dispute.closed"),
    event_type={
        "charge.dispute.created": "dispute.created",
        "charge.dispute.closed": "dispute.closed",
    },
    columns={
        "object_id": Path(f"{OBJECT}.id"),
        "amount_minor": Path(f"{OBJECT}.amount"),
        "currency": Path(f"{OBJECT}.currency"),
        "payment_method_type": Path(f"{OBJECT}.payment_method_details.type"),
        "card_brand": Path(f"{OBJECT}.payment_method_details.card.brand"),
        "status": Path(f"{OBJECT}.status"),
    },
    metadata={
        "charge": JsonFragment(f"{OBJECT}.charge"),
        "payment_intent": JsonFragment(f"{OBJECT}.payment_intent"),
        "reason": JsonFragment(f"{OBJECT}.reason"),
        "evidence_due_by": JsonFragment(f"{OBJECT}.evidence_details.due_by"),
    },
)

SUBSCRIPTIONS = EventMapping(
    provider_types=(
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ),
    event_type={
        "customer.subscription.created": "subscription.created",
        "customer.subscription.updated": "subscription.updated",
        "customer.subscription.deleted": "subscription.canceled",
    },
    columns={
        "object_id": Path(f"{OBJECT}.id"),
        "customer_id": Path(f"{OBJECT}.customer"),
        # The first item's price: what one period costs for a single-price subscription.
        "amount_minor": Path(f"{OBJECT}.items.data[0].price.unit_amount"),
        "currency": first_of(f"{OBJECT}.currency", f"{OBJECT}.items.data[0].price.currency"),
        "status": Path(f"{OBJECT}.status"),
    },
    metadata={
        "price_id": JsonFragment(f"{OBJECT}.items.data[0].price.id"),
        "interval": JsonFragment(f"{OBJECT}.items.data[0].price.recurring.interval"),
        "quantity": JsonFragment(f"{OBJECT}.items.data[0].quantity"),
        "cancel_at_period_end": JsonFragment(f"{OBJECT}.cancel_at_period_end"),
    },
    # Metered and tiered prices have no unit amount; the subscription is still an event.
    required=frozenset({"currency"}),
)

STRIPE = ProviderMapping(
    name="stripe",
    topic=STRIPE_RAW,
    event_id=Path("$.id"),
    event_type=Path("$.type"),
    # The gateway's key rule: the connected account, or the platform's own account.
    merchant_id=first_of("$.account", Const("platform")),
    created_at=Path("$.created"),
    events=(PAYMENT_INTENTS, CHARGES, REFUNDED_CHARGES, REFUNDS, DISPUTES, SUBSCRIPTIONS),
    metadata={
        "metadata": JsonFragment(f"{OBJECT}.metadata", structured=True),
        "description": JsonFragment(f"{OBJECT}.description"),
        "object": JsonFragment(f"{OBJECT}.object"),
        "api_version": JsonFragment("$.api_version"),
        "livemode": JsonFragment("$.livemode"),
        "request_id": JsonFragment("$.request.id"),
        "idempotency_key": JsonFragment("$.request.idempotency_key"),
    },
)
