"""Generated events for the benchmarks: JR-shaped raw JSON with a share of invalid ones,
and unified events (`payments.normalized`) for the side stream.

Raw payloads are rendered from a few pre-built templates by number, so millions can be
made as fast as a producer takes them; every message has its own id.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from confluent_kafka import Producer

from contracts.tables import UNIFIED_COLUMNS
from contracts.topics import STRIPE_RAW

ID = "__N__"

VALID: dict[str, dict[str, Any]] = {
    "charges": {
        "charge_id": f"ch_{ID}", "customer_id": "cus_7Qx", "merchant_id": "acct_1Mx",
        "amount": 42.5, "currency": "usd", "status": "succeeded", "provider": "stripe",
        "payment_method": "card", "card_brand": "visa", "card_last4": "4242", "country": "US",
        "failure_code": None, "failure_message": None, "risk_score": 0.12,
        "created_at": "2026-11-22T10:00:00Z",
    },
    "refunds": {
        "refund_id": f"re_{ID}", "charge_id": "ch_1", "customer_id": "cus_7Qx", "amount": "10.00",
        "currency": "EUR", "reason": "requested_by_customer", "status": "succeeded",
        "provider": "stripe", "support_ticket_id": "T-1", "created_at": 1795000000,
    },
    "disputes": {
        "dispute_id": f"dp_{ID}", "charge_id": "ch_1", "customer_id": "cus_7Qx", "amount": 42.5,
        "currency": "usd", "reason": "fraudulent", "status": "needs_response",
        "evidence_due_by": "2026-12-01 00:00:00", "provider": "square",
        "created_at": "2026-11-22 10:00:00",
    },
    "subscriptions": {
        "subscription_id": f"sub_{ID}", "customer_id": "cus_7Qx", "plan_id": "plan_pro",
        "status": "active", "amount": 0, "currency": "usd", "billing_interval": "month",
        "trial_start": None, "trial_end": None, "promo_code": "null", "discount_pct": 10,
        "provider": "stripe", "created_at": 1795000000000,
    },
}  # fmt: skip

# Flaws the JR templates also make: each template breaks one rule.
FLAWS: tuple[Callable[[dict[str, Any]], None], ...] = (
    lambda e: e.update(currency="XXX"),
    lambda e: e.update(amount="abc"),
    lambda e: e.update(amount=-5),
    lambda e: e.update(created_at="yesterday"),
    lambda e: e.update(status="N/A"),
    lambda e: e.update(amount=10.505, currency="JPY"),
)
NOT_JSON = '{"truncated": ' + ID


def templates(event_type: str, invalid_share: float, size: int = 100) -> list[str]:
    """`size` payload templates of which about `invalid_share` are invalid."""
    invalid = round(size * invalid_share)
    result = []
    for index in range(size):
        event = dict(VALID[event_type])
        if index < invalid:
            if index % (len(FLAWS) + 1) == len(FLAWS):
                result.append(NOT_JSON)
                continue
            FLAWS[index % (len(FLAWS) + 1)](event)
        result.append(json.dumps(event))
    # Spread the invalid ones over the sequence instead of leading with them.
    return [result[(index * 37) % size] for index in range(size)] if size % 37 else result


def payloads(event_type: str, count: int, invalid_share: float, start: int = 0) -> Iterator[bytes]:
    forms = [form.split(ID) for form in templates(event_type, invalid_share)]
    for n in range(start, start + count):
        head, *rest = forms[n % len(forms)]
        yield (head + "".join(str(n) + part for part in rest)).encode()


def produce_all(producer: Producer, topic: str, values: Iterator[bytes]) -> int:
    """Produces every value, waiting for room when the producer's queue is full."""
    count = 0
    for value in values:
        while True:
            try:
                producer.produce(topic, value=value)
                break
            except BufferError:
                producer.poll(0.05)
        count += 1
        if count % 10_000 == 0:
            producer.poll(0)
    return count


def prefill(
    producer: Producer, topics: dict[str, str], total: int, invalid_share: float
) -> tuple[dict[str, int], float]:
    """`total` messages over the topics in the JR default ratio; returns counts and seconds."""
    ratio = {"charges": 2.0, "refunds": 0.5, "disputes": 0.2, "subscriptions": 0.33}
    weight = sum(ratio.values())
    counts = {name: int(total * r / weight) for name, r in ratio.items()}
    counts["charges"] += total - sum(counts.values())
    started = time.monotonic()
    for name, count in counts.items():
        produce_all(producer, topics[name], payloads(name, count, invalid_share))
    if producer.flush(600) != 0:
        raise RuntimeError("the producer could not deliver every message within 600 s")
    return counts, time.monotonic() - started


def unified_event(n: int, run: str, event_type: str = "payment.succeeded", **extra) -> dict:
    """A unified event (contract §5) with exactly the columns of `payments.normalized`."""
    provider_event_id = f"evt_{run}_{n:06d}"
    status = event_type.split(".")[1]
    event: dict[str, Any] = {name: None for name, _ in UNIFIED_COLUMNS}
    event |= {
        "event_id": hashlib.sha256(f"stripe:{provider_event_id}".encode()).hexdigest()[:32],
        "provider": "stripe",
        "provider_event_id": provider_event_id,
        "provider_event_type": "payment_intent."
        + ("payment_failed" if status == "failed" else status),
        "event_type": event_type,
        "object_id": f"pi_{run}_{n}",
        "merchant_id": f"acct_{n % 7}",
        "customer_id": f"cus_{n % 41}",
        "amount_minor": 500 + (n * 137) % 90_000,
        "currency": ("USD", "EUR", "JPY")[n % 3],
        "payment_method_type": "card",
        "card_brand": ("visa", "mastercard", "amex")[n % 3],
        "card_last_four": f"{n % 10_000:04d}",
        "status": status,
        "failure_code": "insufficient_funds" if status == "failed" else None,
        "failure_message": "Your card has insufficient funds." if status == "failed" else None,
        "metadata": "{}",
        "provider_created_at": "2026-11-22T09:00:00.000Z",
        "received_at": "2026-11-22T09:00:01.000Z",
        "processed_at": "2026-11-22T09:00:02.000Z",
        "schema_version": 1,
        "kafka_topic": STRIPE_RAW,
        "kafka_partition": n % 3,
        "kafka_offset": n,
    }
    return event | extra
