"""The HTTP API's shapes (contract: interfaces, inference service).

Input decisions:

- An event is one unified event (contract §5). `event_id` is required; every other field
  is optional and nullable. Fields the scorers do not read (timestamps, `metadata`,
  `kafka_*`, ...) and unknown fields are accepted and ignored, so the events on
  `payments.normalized` can be posted as they are, and a column added upstream does not
  break scoring.
- The fields the scorers read are checked: `amount_minor` is a JSON integer >= 0 (minor
  units; a string or a fraction is refused rather than guessed at), `currency` is three
  letters (any case; upper-cased), strings are at most 200 characters.
- `customer_history` and the batch wrapper are the service's own objects: unknown keys
  there are refused (422), since a misspelt counter would otherwise be silently zero.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

MAX_BATCH_EVENTS = 1000

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
LowerText = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=200)]
Count = Annotated[int, Field(ge=0, strict=True)]
Score = Annotated[float, Field(ge=0.0, le=1.0)]
RiskLevel = Literal["low", "medium", "high"]


def currency_shape(value: str) -> str:
    """Three letters, upper-cased. A well-formed code that ISO 4217 does not know is
    accepted and scored as an unknown currency (a risk signal, not a malformed request)."""
    code = value.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError(f"currency must be a three-letter ISO 4217 code, got {value!r}")
    return code


class CustomerHistory(BaseModel):
    """The customer's counts so far; missing counters are 0."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    payments: Count = 0
    failed_payments: Count = 0
    refunds: Count = 0
    disputes: Count = 0


class PaymentEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    provider: LowerText | None = None
    event_type: LowerText | None = None
    status: LowerText | None = None
    merchant_id: ShortText | None = None
    customer_id: ShortText | None = None
    amount_minor: Count | None = None
    currency: Annotated[str, AfterValidator(currency_shape)] | None = None
    payment_method_type: LowerText | None = None
    card_brand: LowerText | None = None
    failure_code: LowerText | None = None
    customer_history: CustomerHistory = Field(default_factory=CustomerHistory)


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    events: Annotated[list[PaymentEvent], Field(min_length=1, max_length=MAX_BATCH_EVENTS)]


class RetryStrategy(BaseModel):
    should_retry: bool
    delay_seconds: Annotated[int, Field(ge=0)]
    method: str


class FraudScoreResponse(BaseModel):
    event_id: str
    model_version: str
    fraud_score: Score
    risk_level: RiskLevel


class ChurnScoreResponse(BaseModel):
    event_id: str
    model_version: str
    churn_score: Score


class RetryStrategyResponse(BaseModel):
    event_id: str
    model_version: str
    retry_strategy: RetryStrategy | None


class BatchResult(BaseModel):
    event_id: str
    fraud_score: Score
    risk_level: RiskLevel
    churn_score: Score
    retry_strategy: RetryStrategy | None


class BatchResponse(BaseModel):
    model_version: str
    results: list[BatchResult]


class HealthResponse(BaseModel):
    status: Literal["ok"]
    model_version: str
    scorer: Literal["model", "heuristic"]
