"""Unified events (contract §5) as the inference service receives them."""

from __future__ import annotations

from typing import Any

from contracts.tables import UNIFIED_COLUMNS


def unified_event(n: int = 0, event_type: str = "payment.succeeded", **fields: Any) -> dict:
    """Every column of `payments.normalized`, as the enrichment side stream posts them."""
    status = event_type.split(".")[1]
    event: dict[str, Any] = {name: None for name, _ in UNIFIED_COLUMNS}
    event |= {
        "event_id": f"{n:032x}",
        "provider": ("stripe", "square")[n % 2],
        "provider_event_id": f"evt_{n}",
        "provider_event_type": "payment_intent.succeeded",
        "event_type": event_type,
        "object_id": f"pi_{n}",
        "merchant_id": f"acct_{n % 5}",
        "customer_id": f"cus_{n % 17}",
        "amount_minor": 100 + (n * 7919) % 250_000,
        "currency": ("USD", "EUR", "JPY", "BHD", "GBP")[n % 5],
        "payment_method_type": ("card", "card", "us_bank_account", "apple_pay")[n % 4],
        "card_brand": ("visa", "mastercard", "amex", None)[n % 4],
        "card_last_four": f"{n % 10_000:04d}",
        "status": status,
        "failure_code": None,
        "failure_message": None,
        "metadata": "{}",
        "provider_created_at": "2026-11-22T09:00:00.000Z",
        "received_at": "2026-11-22T09:00:01.000Z",
        "processed_at": "2026-11-22T09:00:02.000Z",
        "schema_version": 1,
        "kafka_topic": "payments.normalized",
        "kafka_partition": n % 3,
        "kafka_offset": n,
    }
    return event | fields


FAILURE_CODES = ("insufficient_funds", "card_declined", "fraudulent", "CVV_FAILURE", None)
EVENT_TYPES = (
    "payment.succeeded",
    "payment.failed",
    "payment.pending",
    "refund.succeeded",
    "dispute.created",
    "subscription.canceled",
)


def varied_events(count: int) -> list[dict]:
    """A spread of types, amounts, currencies, methods, decline codes and histories."""
    events = []
    for n in range(count):
        event_type = EVENT_TYPES[n % len(EVENT_TYPES)]
        failure = FAILURE_CODES[n % len(FAILURE_CODES)] if event_type == "payment.failed" else None
        history = {
            "payments": (n * 3) % 40,
            "failed_payments": n % 4,
            "refunds": n % 3,
            "disputes": (n // 7) % 2,
        }
        events.append(unified_event(n, event_type, failure_code=failure, customer_history=history))
    return events
