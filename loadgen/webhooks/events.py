"""Simulated Stripe and Square webhooks, deterministic for a seed.

Events come from object lifecycles (a payment intent and its charge, then maybe a refund
or a dispute; a subscription created, updated, deleted; a Square payment approved then
completed, failed or canceled, then maybe refunded), so ids stay consistent across an
object's events, and lifecycles interleave as real traffic does. Around them:

- redeliveries: an event sent again, same id and body (Stripe re-signs it with a new t);
- wrong signatures (the gateway answers 400);
- correctly signed bodies that cannot be routed (the gateway dead-letters them, 202);
- semantically bad events (bad currency, negative amount, no customer, no account,
  unparseable created) that the gateway accepts and the normalisation job quarantines.

Each `SimEvent` says what the gateway should answer, so a run can be checked.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from contracts.reasons import Reason

STRIPE_API_VERSION = "2024-06-20"
STRIPE_ACCOUNTS = 12
SQUARE_MERCHANTS = 6
CUSTOMERS = 400
# (currency, typical amount range in minor units): zero-decimal JPY on purpose.
CURRENCIES = (("usd", 500, 25_000), ("eur", 500, 20_000), ("gbp", 500, 15_000),
              ("jpy", 500, 30_000), ("cad", 500, 20_000))  # fmt: skip
CARDS = (("visa", "4242"), ("mastercard", "4444"), ("amex", "8431"), ("discover", "1117"))
SQUARE_BRANDS = {"visa": "VISA", "mastercard": "MASTERCARD", "amex": "AMERICAN_EXPRESS",
                 "discover": "DISCOVER"}  # fmt: skip
DECLINES = (("card_declined", "insufficient_funds", "Your card has insufficient funds."),
            ("card_declined", "generic_decline", "Your card was declined."),
            ("expired_card", "expired_card", "Your card has expired."))  # fmt: skip
PLANS = (("price_basic_monthly", 900, "month"), ("price_pro_monthly", 2900, "month"),
         ("price_pro_yearly", 29000, "year"))  # fmt: skip


class Kind(StrEnum):
    VALID = "valid"
    REDELIVERY = "redelivery"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"  # signed, not routable: the DLQ
    SEMANTIC = "semantic"  # signed and routable, but the normalisation job quarantines it


@dataclass(frozen=True)
class SimEvent:
    provider: str  # "stripe" | "square"
    kind: Kind
    body: bytes
    provider_event_id: str | None
    event_type: str | None
    expected_status: int
    # Where the gateway should write it: "raw", "dlq" or None (nothing written).
    expected_topic: str | None
    detail: str = ""  # which defect a bad event has, or the DLQ reason expected

    @property
    def signed_correctly(self) -> bool:
        return self.kind is not Kind.BAD_SIGNATURE


@dataclass(frozen=True)
class Mix:
    bad_share: float = 0.05
    redelivery_share: float = 0.05
    stripe_share: float = 0.6


def encode(event: Any) -> bytes:
    # Providers send compact JSON; the exact bytes are what gets signed.
    return json.dumps(event, separators=(",", ":")).encode()


@dataclass
class Ids:
    """Provider-looking ids, all drawn from the one seeded generator."""

    rng: random.Random
    seen: set[str] = field(default_factory=set)

    def stripe(self, prefix: str, length: int = 24) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return f"{prefix}_" + "".join(self.rng.choice(alphabet) for _ in range(length))

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def square(self, length: int = 22) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(self.rng.choice(alphabet) for _ in range(length))


class Clock:
    """Event times: from `start`, a few seconds apart, as deterministic as the rest."""

    def __init__(self, rng: random.Random, start: int) -> None:
        self.rng = rng
        self.now = start

    def tick(self) -> int:
        self.now += self.rng.randint(0, 3)
        return self.now


def rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# -- Stripe ---------------------------------------------------------------------------------


class StripeWorld:
    def __init__(self, rng: random.Random, ids: Ids, clock: Clock) -> None:
        self.rng, self.ids, self.clock = rng, ids, clock
        self.accounts = [ids.stripe("acct", 16) for _ in range(STRIPE_ACCOUNTS)]
        self.customers = [ids.stripe("cus", 14) for _ in range(CUSTOMERS)]

    def envelope(self, event_type: str, obj: dict[str, Any], account: str) -> dict[str, Any]:
        return {
            "id": self.ids.stripe("evt"),
            "object": "event",
            "api_version": STRIPE_API_VERSION,
            "created": self.clock.tick(),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": self.ids.stripe("req", 14), "idempotency_key": self.ids.uuid()},
            "type": event_type,
            "account": account,
        }

    def payment(self) -> Iterator[dict[str, Any]]:
        """A payment intent and its charge; then maybe a refund or a dispute."""
        rng = self.rng
        account, customer = rng.choice(self.accounts), rng.choice(self.customers)
        currency, low, high = rng.choice(CURRENCIES)
        amount = rng.randint(low, high)
        brand, last4 = rng.choice(CARDS)
        created = self.clock.now
        intent = {
            "id": self.ids.stripe("pi"), "object": "payment_intent", "amount": amount,
            "amount_received": 0, "currency": currency, "customer": customer,
            "created": created, "description": f"Order #{rng.randint(1000, 99999)}",
            "livemode": False, "metadata": {"order_id": str(rng.randint(10**5, 10**6))},
            "payment_method_types": ["card"], "status": "processing",
            "last_payment_error": None, "latest_charge": None,
        }  # fmt: skip
        charge = {
            "id": self.ids.stripe("ch"), "object": "charge", "amount": amount,
            "amount_captured": 0, "amount_refunded": 0, "currency": currency,
            "customer": customer, "created": created, "payment_intent": intent["id"],
            "paid": False, "refunded": False, "disputed": False, "metadata": {},
            "payment_method_details": {"type": "card", "card": {
                "brand": brand, "last4": last4, "country": rng.choice(["US", "DE", "GB", "JP"]),
                "exp_month": rng.randint(1, 12), "exp_year": rng.randint(2027, 2031)}},
            "outcome": {"type": "authorized", "risk_level": "normal"},
            "failure_code": None, "failure_message": None, "status": "pending",
        }  # fmt: skip
        intent["latest_charge"] = charge["id"]
        if rng.random() < 0.15:
            yield from self._failed(account, intent, charge)
            return
        charge.update(status="succeeded", paid=True, amount_captured=amount)
        intent.update(status="succeeded", amount_received=amount)
        yield self.envelope("charge.succeeded", charge, account)
        yield self.envelope("payment_intent.succeeded", intent, account)
        roll = rng.random()
        if roll < 0.15:
            refunded = amount if rng.random() < 0.7 else rng.randint(1, amount)
            charge.update(amount_refunded=refunded, refunded=refunded == amount)
            yield self.envelope("charge.refunded", charge, account)
        elif roll < 0.22:
            yield from self._dispute(account, charge)

    def _failed(self, account: str, intent: dict, charge: dict) -> Iterator[dict[str, Any]]:
        code, decline, message = self.rng.choice(DECLINES)
        charge.update(
            status="failed",
            failure_code=code,
            failure_message=message,
            outcome={"type": "issuer_declined", "risk_level": "normal"},
        )
        card = charge["payment_method_details"]["card"]
        intent.update(
            status="requires_payment_method",
            last_payment_error={
                "code": code, "decline_code": decline, "message": message, "type": "card_error",
                "payment_method": {"type": "card", "card": {"brand": card["brand"],
                                                            "last4": card["last4"]}},
            },
        )  # fmt: skip
        yield self.envelope("charge.failed", charge, account)
        yield self.envelope("payment_intent.payment_failed", intent, account)

    def _dispute(self, account: str, charge: dict) -> Iterator[dict[str, Any]]:
        dispute = {
            "id": self.ids.stripe("dp"), "object": "dispute", "amount": charge["amount"],
            "currency": charge["currency"], "charge": charge["id"],
            "payment_intent": charge["payment_intent"], "created": self.clock.now,
            "reason": self.rng.choice(["fraudulent", "product_not_received", "duplicate"]),
            "status": "needs_response", "is_charge_refundable": False, "metadata": {},
            "evidence_details": {"due_by": self.clock.now + 7 * 86_400, "has_evidence": False},
            "payment_method_details": {"type": "card", "card": {
                "brand": charge["payment_method_details"]["card"]["brand"]}},
        }  # fmt: skip
        charge["disputed"] = True
        yield self.envelope("charge.dispute.created", dispute, account)
        dispute["status"] = self.rng.choice(["won", "lost"])
        yield self.envelope("charge.dispute.closed", dispute, account)

    def subscription(self) -> Iterator[dict[str, Any]]:
        rng = self.rng
        account, customer = rng.choice(self.accounts), rng.choice(self.customers)
        price_id, unit_amount, interval = rng.choice(PLANS)
        start = self.clock.now
        period = 30 * 86_400 if interval == "month" else 365 * 86_400
        subscription = {
            "id": self.ids.stripe("sub"), "object": "subscription", "customer": customer,
            "currency": "usd", "status": "trialing" if rng.random() < 0.3 else "active",
            "created": start, "start_date": start, "current_period_start": start,
            "current_period_end": start + period, "cancel_at_period_end": False,
            "canceled_at": None, "metadata": {"plan": price_id},
            "items": {"object": "list", "data": [{
                "id": self.ids.stripe("si", 14), "object": "subscription_item", "quantity": 1,
                "price": {"id": price_id, "object": "price", "currency": "usd",
                          "unit_amount": unit_amount,
                          "recurring": {"interval": interval, "interval_count": 1}}}]},
        }  # fmt: skip
        yield self.envelope("customer.subscription.created", subscription, account)
        subscription.update(status="active" if rng.random() < 0.8 else "past_due")
        yield self.envelope("customer.subscription.updated", subscription, account)
        if rng.random() < 0.4:
            subscription.update(status="canceled", canceled_at=self.clock.now)
            yield self.envelope("customer.subscription.deleted", subscription, account)

    def lifecycle(self) -> Iterator[dict[str, Any]]:
        return self.subscription() if self.rng.random() < 0.2 else self.payment()


# -- Square ---------------------------------------------------------------------------------


class SquareWorld:
    def __init__(self, rng: random.Random, ids: Ids, clock: Clock) -> None:
        self.rng, self.ids, self.clock = rng, ids, clock
        self.merchants = [ids.square(13).upper() for _ in range(SQUARE_MERCHANTS)]
        self.locations = {m: ids.square(13).upper() for m in self.merchants}
        self.customers = [ids.square(26).upper() for _ in range(CUSTOMERS)]

    def envelope(self, merchant: str, event_type: str, name: str, obj: dict) -> dict[str, Any]:
        return {
            "merchant_id": merchant,
            "type": event_type,
            "event_id": self.ids.uuid(),
            "created_at": rfc3339(self.clock.tick()),
            "data": {"type": name, "id": obj["id"], "object": {name: copy.deepcopy(obj)}},
        }

    def payment(self) -> Iterator[dict[str, Any]]:
        rng = self.rng
        merchant = rng.choice(self.merchants)
        currency, low, high = rng.choice(CURRENCIES)
        amount = rng.randint(low, high)
        brand, last4 = rng.choice(CARDS)
        created = rfc3339(self.clock.now)
        money = {"amount": amount, "currency": currency.upper()}
        payment: dict[str, Any] = {
            "id": self.ids.square(), "created_at": created, "updated_at": created,
            "amount_money": money, "total_money": dict(money), "status": "APPROVED",
            "source_type": "CARD", "location_id": self.locations[merchant],
            "order_id": self.ids.square(), "customer_id": rng.choice(self.customers),
            "receipt_number": self.ids.square(4).upper(), "version": 1,
            "card_details": {"status": "AUTHORIZED", "entry_method": "KEYED",
                             "card": {"card_brand": SQUARE_BRANDS[brand], "last_4": last4,
                                      "exp_month": rng.randint(1, 12),
                                      "exp_year": rng.randint(2027, 2031)}},
        }  # fmt: skip
        yield self.envelope(merchant, "payment.created", "payment", payment)
        roll = rng.random()
        payment["version"] += 1
        payment["updated_at"] = rfc3339(self.clock.now)
        if roll < 0.12:
            payment["status"] = "FAILED"
            payment["card_details"].update(
                status="FAILED",
                errors=[{"code": "CARD_DECLINED", "detail": "Card declined.",
                         "category": "PAYMENT_METHOD_ERROR"}],
            )  # fmt: skip
            yield self.envelope(merchant, "payment.updated", "payment", payment)
            return
        if roll < 0.18:
            payment["status"] = "CANCELED"
            payment["card_details"]["status"] = "VOIDED"
            yield self.envelope(merchant, "payment.updated", "payment", payment)
            return
        payment["status"] = "COMPLETED"
        payment["card_details"]["status"] = "CAPTURED"
        yield self.envelope(merchant, "payment.updated", "payment", payment)
        if rng.random() < 0.15:
            yield from self._refund(merchant, payment)

    def _refund(self, merchant: str, payment: dict) -> Iterator[dict[str, Any]]:
        amount = payment["amount_money"]["amount"]
        refunded = amount if self.rng.random() < 0.7 else self.rng.randint(1, amount)
        created = rfc3339(self.clock.now)
        refund = {
            "id": f"{payment['id']}_{self.ids.square(8)}", "status": "PENDING",
            "amount_money": {"amount": refunded, "currency": payment["amount_money"]["currency"]},
            "payment_id": payment["id"], "order_id": payment["order_id"],
            "location_id": payment["location_id"], "customer_id": payment["customer_id"],
            "reason": "Customer request", "created_at": created, "updated_at": created,
            "version": 1,
        }  # fmt: skip
        yield self.envelope(merchant, "refund.created", "refund", refund)
        refund.update(status=self.rng.choice(["COMPLETED"] * 8 + ["FAILED", "REJECTED"]))
        refund["version"] += 1
        yield self.envelope(merchant, "refund.updated", "refund", refund)

    def lifecycle(self) -> Iterator[dict[str, Any]]:
        return self.payment()


# -- the defects ----------------------------------------------------------------------------


def _object(event: dict[str, Any]) -> dict[str, Any]:
    """The payload object: Stripe's `data.object`, Square's `data.object.<type>`."""
    data: dict[str, Any] = event["data"]["object"]
    return data if "object" in data else next(iter(data.values()))


def _money(event: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Every (container, amount field) the event's money sits in."""
    obj = _object(event)
    if "amount_money" in obj:  # Square
        return [(obj["amount_money"], "amount")]
    if obj.get("object") == "subscription":
        return [(obj, "none"), (obj["items"]["data"][0]["price"], "unit_amount")]
    return [(obj, "amount"), (obj, "amount_refunded")]


def _set_currency(event: dict[str, Any], currency: str | None) -> None:
    for container, _ in _money(event):
        if currency is None:
            container.pop("currency", None)
        else:
            container["currency"] = currency


def _negate_amount(event: dict[str, Any]) -> None:
    for container, name in _money(event):
        if container.get(name):
            container[name] = -abs(container[name])


def _semantic_defects(
    provider: str, event: dict[str, Any]
) -> dict[str, Callable[[dict[str, Any]], None]]:
    """The defects that apply to this event, each a change in place."""
    created = "created" if provider == "stripe" else "created_at"
    customer = "customer" if provider == "stripe" else "customer_id"
    defects: dict[str, Callable[[dict[str, Any]], None]] = {
        "invalid_currency": lambda e: _set_currency(e, "XXX"),
        "missing_currency": lambda e: _set_currency(e, None),
        "negative_amount": _negate_amount,
        "unparseable_created": lambda e: e.update({created: "yesterday at noon"}),
    }
    if customer in _object(event):
        defects["missing_customer"] = lambda e: _object(e).pop(customer)
    if provider == "stripe":
        defects["missing_account"] = lambda e: e.pop("account", None)
    return defects


def _malformed_bodies(provider: str, event: dict[str, Any]) -> dict[str, tuple[bytes, str]]:
    """Signed bodies the gateway cannot route, with the DLQ reason each should get."""
    routing = "id" if provider == "stripe" else "merchant_id"
    without = {k: v for k, v in event.items() if k != routing}
    body = encode(event)
    return {
        "truncated_json": (body[: len(body) // 2], Reason.MALFORMED_JSON),
        "json_array": (encode([event]), Reason.NOT_A_JSON_OBJECT),
        f"missing_{routing}": (encode(without), Reason.MISSING_ROUTING_FIELD),
    }


class Generator:
    def __init__(self, seed: int, mix: Mix, start: int) -> None:
        self.rng = random.Random(seed)
        self.mix = mix
        ids, clock = Ids(self.rng), Clock(self.rng, start)
        self.worlds: dict[str, StripeWorld | SquareWorld] = {
            "stripe": StripeWorld(self.rng, ids, clock),
            "square": SquareWorld(self.rng, ids, clock),
        }
        self.active: list[tuple[str, Iterator[dict[str, Any]]]] = []
        self.sent: list[SimEvent] = []

    def next_valid(self) -> tuple[str, dict[str, Any]]:
        """The next event of a lifecycle in flight; a few lifecycles run at once."""
        while True:
            if len(self.active) < 8 or self.rng.random() < 0.2:
                provider = "stripe" if self.rng.random() < self.mix.stripe_share else "square"
                self.active.append((provider, self.worlds[provider].lifecycle()))
            index = self.rng.randrange(len(self.active))
            provider, lifecycle = self.active[index]
            event = next(lifecycle, None)
            if event is not None:
                return provider, event
            self.active.pop(index)

    def next(self) -> SimEvent:
        roll = self.rng.random()
        if roll < self.mix.redelivery_share and self.sent:
            original = self.rng.choice(self.sent)
            return _as(original, Kind.REDELIVERY)
        provider, event = self.next_valid()
        if roll < self.mix.redelivery_share + self.mix.bad_share:
            return self.bad(provider, event)
        sim = SimEvent(provider, Kind.VALID, encode(event), _event_id(provider, event),
                       event["type"], 202, "raw")  # fmt: skip
        self.sent.append(sim)
        return sim

    def bad(self, provider: str, event: dict[str, Any]) -> SimEvent:
        kind = self.rng.choice([Kind.BAD_SIGNATURE, Kind.MALFORMED, Kind.SEMANTIC])
        event_id, event_type = _event_id(provider, event), event["type"]
        if kind is Kind.BAD_SIGNATURE:
            return SimEvent(provider, kind, encode(event), event_id, event_type, 400, None,
                            "signed with a wrong secret")  # fmt: skip
        if kind is Kind.MALFORMED:
            name, (body, reason) = self.rng.choice(
                sorted(_malformed_bodies(provider, event).items())
            )
            return SimEvent(provider, kind, body, event_id, event_type, 202, "dlq",
                            f"{name}: {reason}")  # fmt: skip
        name, defect = self.rng.choice(sorted(_semantic_defects(provider, event).items()))
        defect(event)
        return SimEvent(provider, kind, encode(event), event_id, event_type, 202, "raw", name)


def _event_id(provider: str, event: dict[str, Any]) -> str:
    return str(event["id"] if provider == "stripe" else event["event_id"])


def _as(event: SimEvent, kind: Kind) -> SimEvent:
    return SimEvent(event.provider, kind, event.body, event.provider_event_id,
                    event.event_type, event.expected_status, event.expected_topic)  # fmt: skip


def generate_events(
    n: int, seed: int = 0, mix: Mix | None = None, start: int = 1_795_600_800
) -> list[SimEvent]:
    """`n` events, the same for the same arguments. `start`: the first event's epoch
    seconds (the CLI passes now; the default is 2026-11-26T08:00:00Z)."""
    generator = Generator(seed, mix or Mix(), start)
    return [generator.next() for _ in range(n)]
