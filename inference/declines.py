"""Decline codes (Stripe and Square, lower-cased) -> what a retry can achieve.

One table, read by the retry strategy and by the scorers' features. A code that is not in
the table counts as `unknown`: retried once, late, since nothing says it cannot succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DeclineKind(StrEnum):
    FUNDS = "funds"  # the money is not there today; it may be after payday
    TRANSIENT = "transient"  # the issuer or network hiccuped; retry soon
    SOFT = "soft"  # a generic refusal; a few tries, then ask for another method
    FRAUD = "fraud"  # retrying adds fraud signals and fees, and cannot succeed
    UPDATE = "update"  # the card's data is wrong or stale; the customer must fix it
    UNKNOWN = "unknown"


DECLINE_KINDS: dict[str, DeclineKind] = {
    # Stripe decline codes
    "insufficient_funds": DeclineKind.FUNDS,
    "withdrawal_count_limit_exceeded": DeclineKind.FUNDS,
    "card_velocity_exceeded": DeclineKind.FUNDS,
    "processing_error": DeclineKind.TRANSIENT,
    "try_again_later": DeclineKind.TRANSIENT,
    "issuer_not_available": DeclineKind.TRANSIENT,
    "reenter_transaction": DeclineKind.TRANSIENT,
    "card_declined": DeclineKind.SOFT,
    "generic_decline": DeclineKind.SOFT,
    "do_not_honor": DeclineKind.SOFT,
    "call_issuer": DeclineKind.SOFT,
    "no_action_taken": DeclineKind.SOFT,
    "fraudulent": DeclineKind.FRAUD,
    "stolen_card": DeclineKind.FRAUD,
    "lost_card": DeclineKind.FRAUD,
    "pickup_card": DeclineKind.FRAUD,
    "restricted_card": DeclineKind.FRAUD,
    "security_violation": DeclineKind.FRAUD,
    "merchant_blacklist": DeclineKind.FRAUD,
    "expired_card": DeclineKind.UPDATE,
    "incorrect_cvc": DeclineKind.UPDATE,
    "invalid_cvc": DeclineKind.UPDATE,
    "incorrect_number": DeclineKind.UPDATE,
    "invalid_number": DeclineKind.UPDATE,
    "invalid_expiry_month": DeclineKind.UPDATE,
    "invalid_expiry_year": DeclineKind.UPDATE,
    "incorrect_zip": DeclineKind.UPDATE,
    "invalid_account": DeclineKind.UPDATE,
    "card_not_supported": DeclineKind.UPDATE,
    "currency_not_supported": DeclineKind.UPDATE,
    # Square payment error codes (Square sends them upper-case; inputs are lower-cased)
    "transaction_limit": DeclineKind.FUNDS,
    "payment_limit_exceeded": DeclineKind.FUNDS,
    "gift_card_available_amount": DeclineKind.FUNDS,
    "temporary_error": DeclineKind.TRANSIENT,
    "card_declined_call_issuer": DeclineKind.SOFT,
    "card_declined_verification_required": DeclineKind.SOFT,
    "cvv_failure": DeclineKind.UPDATE,
    "card_expired": DeclineKind.UPDATE,
    "expiration_failure": DeclineKind.UPDATE,
    "invalid_expiration": DeclineKind.UPDATE,
    "bad_expiration": DeclineKind.UPDATE,
    "address_verification_failure": DeclineKind.UPDATE,
    "invalid_postal_code": DeclineKind.UPDATE,
    "pan_failure": DeclineKind.UPDATE,
    "invalid_card": DeclineKind.UPDATE,
    "invalid_card_data": DeclineKind.UPDATE,
    "invalid_pin": DeclineKind.UPDATE,
    "allowable_pin_tries_exceeded": DeclineKind.FRAUD,
}


def decline_kind(failure_code: str | None) -> DeclineKind:
    if not failure_code:
        return DeclineKind.UNKNOWN
    return DECLINE_KINDS.get(failure_code.strip().lower(), DeclineKind.UNKNOWN)


# Methods a retry strategy names.
SAME_METHOD = "same_payment_method"
NEW_METHOD = "request_new_payment_method"
UPDATE_METHOD = "update_payment_method"
NO_RETRY = "none"

DAY = 86_400
HOUR = 3_600
MAX_DELAY_SECONDS = 7 * DAY


@dataclass(frozen=True)
class RetryRule:
    """`max_retries` retries with `method`, the n-th after `base_delay * 2**n`; then
    `exhausted_method` and no more retries."""

    max_retries: int
    base_delay_seconds: int
    method: str
    exhausted_method: str


RETRY_RULES: dict[DeclineKind, RetryRule] = {
    DeclineKind.FUNDS: RetryRule(4, DAY, SAME_METHOD, NEW_METHOD),
    DeclineKind.TRANSIENT: RetryRule(3, HOUR, SAME_METHOD, NEW_METHOD),
    DeclineKind.SOFT: RetryRule(2, 6 * HOUR, SAME_METHOD, NEW_METHOD),
    DeclineKind.FRAUD: RetryRule(0, 0, NO_RETRY, NO_RETRY),
    DeclineKind.UPDATE: RetryRule(0, 0, UPDATE_METHOD, UPDATE_METHOD),
    DeclineKind.UNKNOWN: RetryRule(1, DAY, SAME_METHOD, NEW_METHOD),
}


@dataclass(frozen=True)
class RetryPlan:
    should_retry: bool
    delay_seconds: int
    method: str


def retry_plan(failure_code: str | None, failed_attempts: int) -> RetryPlan:
    """What to do about a failed payment after `failed_attempts` earlier failures (the
    customer history's `failed_payments`: the recovery passes its own failed tries)."""
    rule = RETRY_RULES[decline_kind(failure_code)]
    if failed_attempts >= rule.max_retries:
        return RetryPlan(should_retry=False, delay_seconds=0, method=rule.exhausted_method)
    delay = min(rule.base_delay_seconds * 2**failed_attempts, MAX_DELAY_SECONDS)
    return RetryPlan(should_retry=True, delay_seconds=delay, method=rule.method)
