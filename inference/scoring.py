"""Scorers: a logistic function of the feature vector, with hand-set weights (the
transparent heuristic, `heuristic-1`) or weights trained by `python -m inference.train`.

Risk levels: `low` below 0.3, `medium` from 0.3, `high` from 0.7 (fraud score).
Scores are rounded to 6 decimals, so an answer's JSON is the same on every run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from inference.declines import RetryPlan, retry_plan
from inference.features import FEATURE_NAMES, feature_vector, payment_failed
from inference.schemas import PaymentEvent

MEDIUM_RISK_FROM = 0.3
HIGH_RISK_FROM = 0.7
SCORE_DECIMALS = 6
HEURISTIC_VERSION = "heuristic-1"

ScorerKind = Literal["model", "heuristic"]


@dataclass(frozen=True)
class LinearModel:
    """P(label) = sigmoid(intercept + weights . features), weights in FEATURE_NAMES order."""

    intercept: float
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURE_NAMES):
            raise ValueError(f"{len(self.weights)} weights for {len(FEATURE_NAMES)} features")

    @classmethod
    def from_named(cls, intercept: float, weights: Mapping[str, float]) -> LinearModel:
        """Unnamed features weigh 0; an unknown name is a mistake."""
        unknown = set(weights) - set(FEATURE_NAMES)
        if unknown:
            raise ValueError(f"unknown features: {sorted(unknown)}")
        return cls(intercept, tuple(float(weights.get(name, 0.0)) for name in FEATURE_NAMES))

    def probability(self, features: tuple[float, ...]) -> float:
        logit = self.intercept + math.fsum(
            w * x for w, x in zip(self.weights, features, strict=True)
        )
        # Two branches keep exp() from overflowing for large |logit|.
        if logit >= 0:
            p = 1.0 / (1.0 + math.exp(-logit))
        else:
            z = math.exp(logit)
            p = z / (1.0 + z)
        return round(p, SCORE_DECIMALS)


def risk_level(fraud_score: float) -> Literal["low", "medium", "high"]:
    if fraud_score >= HIGH_RISK_FROM:
        return "high"
    if fraud_score >= MEDIUM_RISK_FROM:
        return "medium"
    return "low"


@dataclass(frozen=True)
class EventScores:
    fraud_score: float
    risk_level: Literal["low", "medium", "high"]
    churn_score: float
    retry_strategy: RetryPlan | None


@dataclass(frozen=True)
class Scorer:
    version: str
    kind: ScorerKind
    fraud: LinearModel
    churn: LinearModel

    def fraud_score(self, event: PaymentEvent) -> float:
        return self.fraud.probability(feature_vector(event))

    def churn_score(self, event: PaymentEvent) -> float:
        return self.churn.probability(feature_vector(event))

    def retry_strategy(self, event: PaymentEvent) -> RetryPlan | None:
        """None unless the payment failed; then the decline-code table decides (the same
        for the heuristic and the model: the table is policy, not a prediction)."""
        if not payment_failed(event):
            return None
        return retry_plan(event.failure_code, event.customer_history.failed_payments)

    def score(self, event: PaymentEvent) -> EventScores:
        features = feature_vector(event)
        fraud = self.fraud.probability(features)
        return EventScores(
            fraud_score=fraud,
            risk_level=risk_level(fraud),
            churn_score=self.churn.probability(features),
            retry_strategy=self.retry_strategy(event),
        )


# The heuristic's weights, on the logit scale (+1 multiplies the odds by e). Examples:
# $10 by card from a customer with 20 payments ~ 0.07 (low); $1,000 from a new customer
# ~ 0.45 (medium); a `fraudulent` or `stolen_card` decline is high whatever the amount.
HEURISTIC_FRAUD = LinearModel.from_named(
    -3.0,
    {
        "log_amount": 0.6,  # larger tickets are what fraud goes for
        "currency_unknown": 0.8,
        "method_card": 0.3,  # card-not-present is where most fraud is
        "method_bank": -0.5,  # bank debits are authenticated by the bank
        "method_wallet": -0.3,  # wallets tokenise and authenticate the card
        "card_brand_unknown": 0.5,
        "payment_failed": 0.4,
        "decline_fraud": 3.5,  # the issuer itself says fraud
        "decline_update": 0.8,  # wrong CVC / expiry: card testing looks like this
        "decline_funds": 0.2,
        "dispute_event": 2.0,
        "refund_event": 0.3,
        "new_customer": 0.7,
        "failure_rate": 1.5,
        "refund_rate": 1.0,
        "dispute_rate": 4.0,  # chargebacks are the strongest history signal
        "log_payments": -0.4,  # tenure earns trust
    },
)
# Churn: failed payments (involuntary churn, worst when the card must be updated),
# cancellations, refunds and disputes push it up; tenure pulls it down.
HEURISTIC_CHURN = LinearModel.from_named(
    -2.5,
    {
        "payment_failed": 1.0,
        "decline_update": 1.0,
        "decline_funds": 0.7,
        "decline_fraud": 0.5,
        "decline_soft": 0.3,
        "subscription_canceled": 4.0,
        "refund_event": 0.8,
        "dispute_event": 1.5,
        "new_customer": 0.3,
        "failure_rate": 2.0,
        "refund_rate": 1.0,
        "dispute_rate": 1.5,
        "log_payments": -0.5,
    },
)
HEURISTIC_SCORER = Scorer(HEURISTIC_VERSION, "heuristic", HEURISTIC_FRAUD, HEURISTIC_CHURN)
