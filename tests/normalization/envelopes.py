"""Hand-written provider envelopes in the shapes Stripe and Square send, and the gateway's
headers; shared by the mini-cluster tests and the integration test."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "acct_1Nv0FGQ9RKHgCVdK"
SQUARE_MERCHANT = "ML7J9Z8XK2P4Q"


def unified_event_id(provider: str, provider_event_id: str) -> str:
    return hashlib.sha256(f"{provider}:{provider_event_id}".encode()).hexdigest()[:32]


@dataclass
class Message:
    """One raw Kafka message as the gateway writes it."""

    provider: str
    payload: str | None
    received_at: str | None = "2026-11-22T10:00:05.123Z"
    request_id: str = "req-0001"
    headers: dict[str, str] = field(default_factory=dict)

    def header_items(self) -> dict[str, str]:
        items = {"provider": self.provider, "request_id": self.request_id}
        if self.received_at is not None:
            items["received_at"] = self.received_at
        return items | self.headers


def stripe(event_type: str, obj: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    event = {
        "id": "evt_3PqLx2Q9RKHgCVdK0abc1234",
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1795600800,  # 2026-11-25T10:00:00Z
        "type": event_type,
        "account": ACCOUNT,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_Zx81PqL0aB", "idempotency_key": "5b6c-idem"},
        "data": {"object": obj},
    }
    event.update(envelope)
    return event


def payment_intent(**fields: Any) -> dict[str, Any]:
    obj = {
        "id": "pi_3PqLx2Q9RKHgCVdK1xyz",
        "object": "payment_intent",
        "amount": 2599,
        "currency": "usd",
        "customer": "cus_QhT1x9aB",
        "status": "succeeded",
        "payment_method_types": ["card"],
        "latest_charge": "ch_3PqLx2Q9RKHgCVdK1abc",
        "description": "Order #1042",
        "metadata": {"order_id": "1042", "channel": "web"},
        "last_payment_error": None,
    }
    return obj | fields


def charge(**fields: Any) -> dict[str, Any]:
    obj = {
        "id": "ch_3PqLx2Q9RKHgCVdK1abc",
        "object": "charge",
        "amount": 4200,
        "amount_refunded": 0,
        "currency": "eur",
        "customer": "cus_QhT1x9aB",
        "status": "succeeded",
        "payment_intent": "pi_3PqLx2Q9RKHgCVdK1xyz",
        "payment_method_details": {
            "type": "card",
            "card": {"brand": "mastercard", "last4": "4444", "country": "DE"},
        },
        "outcome": {"type": "authorized", "risk_level": "normal"},
        "failure_code": None,
        "failure_message": None,
        "metadata": {},
    }
    return obj | fields


def refund(**fields: Any) -> dict[str, Any]:
    obj = {
        "id": "re_3PqLx2Q9RKHgCVdK1r01",
        "object": "refund",
        "amount": 1000,
        "currency": "usd",
        "charge": "ch_3PqLx2Q9RKHgCVdK1abc",
        "payment_intent": "pi_3PqLx2Q9RKHgCVdK1xyz",
        "reason": "requested_by_customer",
        "status": "succeeded",
        "failure_reason": None,
        "metadata": {"ticket": "T-77"},
    }
    return obj | fields


def dispute(**fields: Any) -> dict[str, Any]:
    obj = {
        "id": "dp_1PqLx2Q9RKHgCVdKd001",
        "object": "dispute",
        "amount": 2599,
        "currency": "usd",
        "charge": "ch_3PqLx2Q9RKHgCVdK1abc",
        "payment_intent": "pi_3PqLx2Q9RKHgCVdK1xyz",
        "reason": "fraudulent",
        "status": "needs_response",
        "evidence_details": {"due_by": 1796400000},
        "payment_method_details": {"type": "card", "card": {"brand": "visa"}},
        "metadata": {},
    }
    return obj | fields


def subscription(unit_amount: int | None = 1500, **fields: Any) -> dict[str, Any]:
    price: dict[str, Any] = {
        "id": "price_1PqL0001",
        "currency": "usd",
        "recurring": {"interval": "month"},
    }
    if unit_amount is not None:
        price["unit_amount"] = unit_amount
    obj = {
        "id": "sub_1PqLx2Q9RKHgCVdKs001",
        "object": "subscription",
        "customer": "cus_QhT1x9aB",
        "currency": "usd",
        "status": "active",
        "cancel_at_period_end": False,
        "items": {"object": "list", "data": [{"id": "si_01", "price": price, "quantity": 1}]},
        "metadata": {"plan": "pro"},
    }
    return obj | fields


def square(event_type: str, kind: str, obj: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    event = {
        "merchant_id": SQUARE_MERCHANT,
        "type": event_type,
        "event_id": "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc",
        "created_at": "2026-11-22T10:00:00.123Z",
        "data": {"type": kind, "id": obj.get("id"), "object": {kind: obj}},
    }
    event.update(envelope)
    return event


def square_payment(**fields: Any) -> dict[str, Any]:
    obj = {
        "id": "KkAkhdMsgzn59SM8A89WgKwekxLZY",
        "amount_money": {"amount": 1099, "currency": "USD"},
        "total_money": {"amount": 1199, "currency": "USD"},
        "status": "COMPLETED",
        "source_type": "CARD",
        "card_details": {
            "status": "CAPTURED",
            "entry_method": "KEYED",
            "card": {"card_brand": "VISA", "last_4": "1111"},
        },
        "customer_id": "JDKYHBWT1D4F8MFH63DBMEN8Y4",
        "location_id": "L88917AVBK2S5",
        "order_id": "03O3USaPaAaFnI6kkwB1JxGgBsUZY",
        "created_at": "2026-11-22T09:59:58.000Z",
    }
    return obj | fields


def square_refund(**fields: Any) -> dict[str, Any]:
    obj = {
        "id": "KkAkhdMsgzn59SM8A89WgKwekxLZY_ptNmbqm4BKHmAsXXq4T4UV",
        "amount_money": {"amount": 500, "currency": "USD"},
        "status": "COMPLETED",
        "payment_id": "KkAkhdMsgzn59SM8A89WgKwekxLZY",
        "reason": "Returned goods",
        "location_id": "L88917AVBK2S5",
    }
    return obj | fields


def variant(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `event` with the value at a dotted path replaced (or removed, for DELETE)."""
    copied = copy.deepcopy(event)
    *parents, last = path.split(".")
    target = copied
    for key in parents:
        target = target[key]
    if value is DELETE:
        target.pop(last, None)
    else:
        target[last] = value
    return copied


DELETE = object()


def dumps(event: dict[str, Any]) -> str:
    return json.dumps(event)
