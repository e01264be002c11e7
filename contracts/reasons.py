"""Every reason code of the platform, in one vocabulary, and the order each pipeline checks
them in.

`rejection_reason` is the first reason that fails and `rejection_reasons` lists every one
that fails, in the pipeline's order (contract §4). A code means the same thing wherever it
appears: `MISSING_CURRENCY` is a missing currency in a JR event and in a provider event.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    MALFORMED_JSON = "MALFORMED_JSON"  # not a JSON object (or not UTF-8)
    # JR events (contract §4): the event's own id, and the reference it cannot live without.
    MISSING_CHARGE_ID = "MISSING_CHARGE_ID"
    MISSING_REFUND_ID = "MISSING_REFUND_ID"
    MISSING_DISPUTE_ID = "MISSING_DISPUTE_ID"
    MISSING_SUBSCRIPTION_ID = "MISSING_SUBSCRIPTION_ID"
    MISSING_CUSTOMER_ID = "MISSING_CUSTOMER_ID"
    # Provider events (contract §5).
    MISSING_PROVIDER_EVENT_ID = "MISSING_PROVIDER_EVENT_ID"
    MISSING_EVENT_TYPE = "MISSING_EVENT_TYPE"
    UNSUPPORTED_EVENT_TYPE = "UNSUPPORTED_EVENT_TYPE"  # no mapping for the provider's type
    MISSING_MERCHANT_ID = "MISSING_MERCHANT_ID"
    # Both.
    MISSING_CURRENCY = "MISSING_CURRENCY"
    INVALID_CURRENCY = "INVALID_CURRENCY"  # not an active ISO 4217 code with minor units
    MISSING_AMOUNT = "MISSING_AMOUNT"
    INVALID_AMOUNT = "INVALID_AMOUNT"  # not a number (provider events: not an integer)
    INVALID_AMOUNT_NEGATIVE = "INVALID_AMOUNT_NEGATIVE"
    INVALID_AMOUNT_TOO_LARGE = "INVALID_AMOUNT_TOO_LARGE"  # over validation.rules.MAX_AMOUNT
    INVALID_AMOUNT_PRECISION = "INVALID_AMOUNT_PRECISION"  # more decimals than the currency's
    MISSING_CREATED_AT = "MISSING_CREATED_AT"
    INVALID_TIMESTAMP = "INVALID_TIMESTAMP"  # created_at present but unparseable
    MISSING_STATUS = "MISSING_STATUS"
    INVALID_STATUS = "INVALID_STATUS"  # not in the type's status set / no unified type for it
    # Enrichment results read from payments.enriched (contract §6): each field missing or
    # not of its type and range.
    MISSING_EVENT_ID = "MISSING_EVENT_ID"
    INVALID_EVENT_ID = "INVALID_EVENT_ID"
    MISSING_FRAUD_SCORE = "MISSING_FRAUD_SCORE"
    INVALID_FRAUD_SCORE = "INVALID_FRAUD_SCORE"
    MISSING_RISK_LEVEL = "MISSING_RISK_LEVEL"
    INVALID_RISK_LEVEL = "INVALID_RISK_LEVEL"
    MISSING_CHURN_SCORE = "MISSING_CHURN_SCORE"
    INVALID_CHURN_SCORE = "INVALID_CHURN_SCORE"
    INVALID_RETRY_STRATEGY = "INVALID_RETRY_STRATEGY"
    MISSING_MODEL_VERSION = "MISSING_MODEL_VERSION"
    INVALID_MODEL_VERSION = "INVALID_MODEL_VERSION"
    MISSING_SCORE_SOURCE = "MISSING_SCORE_SOURCE"
    INVALID_SCORE_SOURCE = "INVALID_SCORE_SOURCE"
    MISSING_WORKFLOW_ID = "MISSING_WORKFLOW_ID"
    INVALID_WORKFLOW_ID = "INVALID_WORKFLOW_ID"
    MISSING_ENRICHED_AT = "MISSING_ENRICHED_AT"
    INVALID_ENRICHED_AT = "INVALID_ENRICHED_AT"
    # The gateway's dead-letter topic (`reason` header): correctly signed but not acceptable.
    NOT_A_JSON_OBJECT = "NOT_A_JSON_OBJECT"
    MISSING_ROUTING_FIELD = "MISSING_ROUTING_FIELD"


R = Reason

# The Flink validation job (JR events), contract §4's order.
VALIDATION_REASONS: tuple[Reason, ...] = (
    R.MALFORMED_JSON,
    R.MISSING_CHARGE_ID,
    R.MISSING_REFUND_ID,
    R.MISSING_DISPUTE_ID,
    R.MISSING_SUBSCRIPTION_ID,
    R.MISSING_CUSTOMER_ID,
    R.MISSING_CURRENCY,
    R.INVALID_CURRENCY,
    R.MISSING_AMOUNT,
    R.INVALID_AMOUNT,
    R.INVALID_AMOUNT_NEGATIVE,
    R.INVALID_AMOUNT_TOO_LARGE,
    R.INVALID_AMOUNT_PRECISION,
    R.MISSING_CREATED_AT,
    R.INVALID_TIMESTAMP,
    R.MISSING_STATUS,
    R.INVALID_STATUS,
)

# The normalisation job (provider events). After MALFORMED_JSON no other check runs; after
# MISSING_EVENT_TYPE or UNSUPPORTED_EVENT_TYPE only the envelope's id is checked (with no
# mapping for the type, its fields mean nothing). Zero is a valid provider amount.
NORMALIZATION_REASONS: tuple[Reason, ...] = (
    R.MALFORMED_JSON,
    R.MISSING_PROVIDER_EVENT_ID,
    R.MISSING_EVENT_TYPE,
    R.UNSUPPORTED_EVENT_TYPE,
    R.MISSING_MERCHANT_ID,
    R.MISSING_CURRENCY,
    R.INVALID_CURRENCY,
    R.MISSING_AMOUNT,
    R.INVALID_AMOUNT,
    R.INVALID_AMOUNT_NEGATIVE,
    R.INVALID_AMOUNT_TOO_LARGE,
    R.MISSING_CREATED_AT,
    R.INVALID_TIMESTAMP,
    R.MISSING_STATUS,
    R.INVALID_STATUS,
)

# The enrichment sink (payments.enriched), in the order of the result's fields (§6).
ENRICHMENT_REASONS: tuple[Reason, ...] = (
    R.MALFORMED_JSON,
    R.MISSING_EVENT_ID,
    R.INVALID_EVENT_ID,
    R.MISSING_FRAUD_SCORE,
    R.INVALID_FRAUD_SCORE,
    R.MISSING_RISK_LEVEL,
    R.INVALID_RISK_LEVEL,
    R.MISSING_CHURN_SCORE,
    R.INVALID_CHURN_SCORE,
    R.INVALID_RETRY_STRATEGY,
    R.MISSING_MODEL_VERSION,
    R.INVALID_MODEL_VERSION,
    R.MISSING_SCORE_SOURCE,
    R.INVALID_SCORE_SOURCE,
    R.MISSING_WORKFLOW_ID,
    R.INVALID_WORKFLOW_ID,
    R.MISSING_ENRICHED_AT,
    R.INVALID_ENRICHED_AT,
)

# The gateway's dead-letter topic.
DLQ_REASONS: tuple[Reason, ...] = (
    R.MALFORMED_JSON,
    R.NOT_A_JSON_OBJECT,
    R.MISSING_ROUTING_FIELD,
)
