"""One event -> the fixed, named feature vector every scorer (heuristic or trained) reads.

Amounts are compared in major units (minor units / 10^the currency's ISO 4217 exponent),
so 1250 USD cents and 1250 JPY are not the same size. There are no FX rates here: 100 JPY
and 100 USD count alike, a known simplification.
"""

from __future__ import annotations

import math

from contracts.currencies import MINOR_UNITS
from inference.declines import DeclineKind, decline_kind
from inference.schemas import PaymentEvent

# Used for a currency the ISO table does not know (the event is flagged, too).
DEFAULT_MINOR_UNITS = 2

FEATURE_NAMES: tuple[str, ...] = (
    "log_amount",  # log10(1 + amount in major units); 0 when missing
    "amount_missing",
    "currency_unknown",  # missing, or not an active ISO 4217 code
    "method_card",
    "method_bank",
    "method_wallet",
    "card_brand_unknown",  # a card payment with no or an unusual brand
    "payment_failed",
    "decline_fraud",
    "decline_update",  # wrong CVC / expired card: also how card testing looks
    "decline_funds",
    "decline_soft",
    "dispute_event",
    "refund_event",
    "subscription_canceled",
    "new_customer",  # no earlier payments in the history
    "failure_rate",
    "refund_rate",
    "dispute_rate",
    "log_payments",  # log10(1 + earlier payments): tenure
)

# Card brands as Stripe (lower-case) and Square (upper-case, lower-cased on input) name them.
KNOWN_CARD_BRANDS = frozenset(
    {
        "visa",
        "mastercard",
        "amex",
        "american_express",
        "discover",
        "discover_diners",
        "diners",
        "jcb",
        "unionpay",
        "china_unionpay",
        "interac",
        "eftpos",
        "cartes_bancaires",
    }
)
BANK_METHODS = frozenset(
    {"ach_debit", "us_bank_account", "sepa_debit", "bacs_debit", "bank_transfer", "bank_account"}
)
WALLET_METHODS = frozenset(
    {"wallet", "apple_pay", "google_pay", "link", "paypal", "cash_app_pay", "square_gift_card"}
)


def payment_failed(event: PaymentEvent) -> bool:
    """The contract's rule for when a retry strategy applies."""
    return event.event_type == "payment.failed" or event.status == "failed"


def amount_major(event: PaymentEvent) -> float | None:
    if event.amount_minor is None:
        return None
    exponent = MINOR_UNITS.get(event.currency or "", DEFAULT_MINOR_UNITS)
    return event.amount_minor / 10**exponent


def _rate(count: int, payments: int) -> float:
    """count / payments in 0..1, whatever the counters say (they are not cross-checked)."""
    return count / max(payments, count, 1)


def _method_flags(event: PaymentEvent) -> tuple[float, float, float]:
    method = event.payment_method_type or ""
    is_card = method == "card" or (not method and event.card_brand is not None)
    return float(is_card), float(method in BANK_METHODS), float(method in WALLET_METHODS)


def feature_vector(event: PaymentEvent) -> tuple[float, ...]:
    """The values of FEATURE_NAMES, in that order."""
    amount = amount_major(event)
    card, bank, wallet = _method_flags(event)
    failed = payment_failed(event)
    kind = decline_kind(event.failure_code) if failed else None
    event_type = event.event_type or ""
    history = event.customer_history
    return (
        math.log10(1 + amount) if amount is not None else 0.0,
        float(amount is None),
        float(event.currency not in MINOR_UNITS),
        card,
        bank,
        wallet,
        float(bool(card) and event.card_brand not in KNOWN_CARD_BRANDS),
        float(failed),
        float(kind is DeclineKind.FRAUD),
        float(kind is DeclineKind.UPDATE),
        float(kind is DeclineKind.FUNDS),
        float(kind in (DeclineKind.SOFT, DeclineKind.TRANSIENT)),
        float(event_type.startswith("dispute.")),
        float(event_type.startswith("refund.")),
        float(event_type == "subscription.canceled"),
        float(history.payments == 0),
        _rate(history.failed_payments, history.payments),
        _rate(history.refunds, history.payments),
        _rate(history.disputes, history.payments),
        math.log10(1 + history.payments),
    )
