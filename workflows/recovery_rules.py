"""Business rules of a payment recovery, and the simulated processor that retries it.

The outcome of a retry is a deterministic function of the event id and the attempt, so a
replayed or re-run recovery reaches the same result and tests can predict it.
"""

from __future__ import annotations

import hashlib

from workflows.models import Event, RetryOutcome

# Declines no retry can fix; retrying them only adds fraud signals and fees.
HARD_DECLINE_CODES = frozenset(
    {
        "stolen_card",
        "lost_card",
        "pickup_card",
        "fraudulent",
        "restricted_card",
        "invalid_account",
        "card_not_supported",
    }
)
SOFT_DECLINE_CODES = ("insufficient_funds", "do_not_honor", "processing_error", "try_again_later")
SIMULATED_SUCCESS_RATE = 0.45


class HardDecline(Exception):
    """The payment failed for a reason no retry can fix (non-retryable)."""


def check_retryable(event: Event) -> None:
    code = (event.get("failure_code") or "").strip().lower()
    if code in HARD_DECLINE_CODES:
        raise HardDecline(f"failure_code {code!r} is a hard decline")


def _fraction(event_id: str, attempt: int, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}:{event_id}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def simulated_retry_outcome(event_id: str, attempt: int) -> RetryOutcome:
    if _fraction(event_id, attempt, "outcome") < SIMULATED_SUCCESS_RATE:
        return RetryOutcome(succeeded=True, decline_code=None)
    index = int(_fraction(event_id, attempt, "code") * len(SOFT_DECLINE_CODES))
    return RetryOutcome(succeeded=False, decline_code=SOFT_DECLINE_CODES[index])
