"""Square webhook events (https://developer.squareup.com/reference/square/webhooks).

The envelope: `merchant_id`, `type`, `event_id` (a uuid), `created_at` (RFC 3339), and
`data: {type, id, object: {payment: {...}} | {refund: {...}}}`. Money is
`amount_money: {amount, currency}` in minor units with upper-case codes. The unified event
type follows the object's status, since `payment.updated` is sent for every change.
"""

from __future__ import annotations

from contracts.topics import SQUARE_RAW
from normalization.mapping import (
    ByStatus,
    EventMapping,
    JsonFragment,
    Path,
    ProviderMapping,
    first_of,
)

PAYMENT = "$.data.object.payment"
REFUND = "$.data.object.refund"

PAYMENTS = EventMapping(
    provider_types=("payment.created", "payment.updated"),
    event_type=ByStatus(
        {
            "approved": "payment.pending",
            "pending": "payment.pending",
            "completed": "payment.succeeded",
            "failed": "payment.failed",
            "canceled": "payment.canceled",
        }
    ),
    columns={
        "object_id": first_of(f"{PAYMENT}.id", "$.data.id"),
        "customer_id": Path(f"{PAYMENT}.customer_id"),
        "amount_minor": Path(f"{PAYMENT}.amount_money.amount"),
        "currency": Path(f"{PAYMENT}.amount_money.currency"),
        "payment_method_type": Path(f"{PAYMENT}.source_type"),
        "card_brand": Path(f"{PAYMENT}.card_details.card.card_brand"),
        "card_last_four": Path(f"{PAYMENT}.card_details.card.last_4"),
        "status": Path(f"{PAYMENT}.status"),
        "failure_code": Path(f"{PAYMENT}.card_details.errors[0].code"),
        "failure_message": Path(f"{PAYMENT}.card_details.errors[0].detail"),
    },
    metadata={
        "location_id": JsonFragment(f"{PAYMENT}.location_id"),
        "order_id": JsonFragment(f"{PAYMENT}.order_id"),
        "receipt_number": JsonFragment(f"{PAYMENT}.receipt_number"),
        "note": JsonFragment(f"{PAYMENT}.note"),
        "card_status": JsonFragment(f"{PAYMENT}.card_details.status"),
        "entry_method": JsonFragment(f"{PAYMENT}.card_details.entry_method"),
        "total_money": JsonFragment(f"{PAYMENT}.total_money", structured=True),
    },
)

REFUNDS = EventMapping(
    provider_types=("refund.created", "refund.updated"),
    event_type=ByStatus(
        {
            "pending": "refund.pending",
            "completed": "refund.succeeded",
            "failed": "refund.failed",
            "rejected": "refund.failed",
        }
    ),
    columns={
        "object_id": first_of(f"{REFUND}.id", "$.data.id"),
        "customer_id": Path(f"{REFUND}.customer_id"),
        "amount_minor": Path(f"{REFUND}.amount_money.amount"),
        "currency": Path(f"{REFUND}.amount_money.currency"),
        "status": Path(f"{REFUND}.status"),
    },
    metadata={
        "payment_id": JsonFragment(f"{REFUND}.payment_id"),
        "reason": JsonFragment(f"{REFUND}.reason"),
        "location_id": JsonFragment(f"{REFUND}.location_id"),
        "order_id": JsonFragment(f"{REFUND}.order_id"),
    },
)

SQUARE = ProviderMapping(
    name="square",
    topic=SQUARE_RAW,
    event_id=Path("$.event_id"),
    event_type=Path("$.type"),
    merchant_id=Path("$.merchant_id"),
    created_at=Path("$.created_at"),
    events=(PAYMENTS, REFUNDS),
    metadata={"data_type": JsonFragment("$.data.type"), "data_id": JsonFragment("$.data.id")},
)
