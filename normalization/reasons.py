"""Why a provider event cannot be normalised: the unified reason codes, in check order.

`rejection_reason` is the first of these that fails and `rejection_reasons` lists every
one that fails, in this order. After `MALFORMED_JSON` no other check runs; after
`MISSING_EVENT_TYPE` or `UNSUPPORTED_EVENT_TYPE` only the envelope's id is checked (with
no mapping for the type, its fields mean nothing).
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    MALFORMED_JSON = "MALFORMED_JSON"  # not a JSON object
    MISSING_PROVIDER_EVENT_ID = "MISSING_PROVIDER_EVENT_ID"
    MISSING_EVENT_TYPE = "MISSING_EVENT_TYPE"
    UNSUPPORTED_EVENT_TYPE = "UNSUPPORTED_EVENT_TYPE"  # no mapping for the provider's type
    MISSING_MERCHANT_ID = "MISSING_MERCHANT_ID"
    MISSING_CURRENCY = "MISSING_CURRENCY"
    INVALID_CURRENCY = "INVALID_CURRENCY"  # not an active ISO 4217 code with minor units
    MISSING_AMOUNT = "MISSING_AMOUNT"
    INVALID_AMOUNT = "INVALID_AMOUNT"  # not an integer number of minor units
    INVALID_AMOUNT_NEGATIVE = "INVALID_AMOUNT_NEGATIVE"  # below 0 (zero is a valid amount)
    INVALID_AMOUNT_TOO_LARGE = "INVALID_AMOUNT_TOO_LARGE"  # over validation.rules.MAX_AMOUNT
    MISSING_CREATED_AT = "MISSING_CREATED_AT"
    INVALID_TIMESTAMP = "INVALID_TIMESTAMP"  # created_at present but unparseable
    # Where the unified event type depends on the provider's status (Square, Stripe refunds).
    MISSING_STATUS = "MISSING_STATUS"
    INVALID_STATUS = "INVALID_STATUS"  # a status the mapping has no unified type for


# The order of the checks is the order of the enum.
REASON_ORDER: tuple[Reason, ...] = tuple(Reason)
