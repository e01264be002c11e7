"""The scorers as pure functions, over generated events (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inference.features import FEATURE_NAMES, feature_vector
from inference.schemas import CustomerHistory, PaymentEvent
from inference.scoring import HEURISTIC_SCORER, LinearModel, Scorer, risk_level

counts = st.integers(min_value=0, max_value=10**6)
events = st.builds(
    PaymentEvent,
    event_id=st.text(min_size=1, max_size=20).filter(str.strip),
    event_type=st.sampled_from(["payment.failed", "payment.succeeded", "dispute.created", None]),
    status=st.sampled_from(["failed", "succeeded", None]),
    amount_minor=st.none() | st.integers(min_value=0, max_value=10**18),
    currency=st.none() | st.sampled_from(["USD", "JPY", "BHD", "ZZZ", "xts"]),
    payment_method_type=st.none() | st.sampled_from(["card", "sepa_debit", "apple_pay", "x"]),
    card_brand=st.none() | st.sampled_from(["visa", "AMERICAN_EXPRESS", "unknown_brand"]),
    failure_code=st.none() | st.sampled_from(["fraudulent", "CVV_FAILURE", "zzz"]),
    customer_history=st.builds(
        CustomerHistory, payments=counts, failed_payments=counts, refunds=counts, disputes=counts
    ),
)
# Extreme weights: the sigmoid must stay in range and not overflow.
EXTREME = Scorer(
    "extreme",
    "model",
    LinearModel(500.0, (300.0,) * len(FEATURE_NAMES)),
    LinearModel(-500.0, (-300.0,) * len(FEATURE_NAMES)),
)


@settings(max_examples=300, deadline=None)
@given(event=events)
def test_scores_are_in_range_and_deterministic(event: PaymentEvent):
    for scorer in (HEURISTIC_SCORER, EXTREME):
        scores = scorer.score(event)
        assert 0.0 <= scores.fraud_score <= 1.0 and 0.0 <= scores.churn_score <= 1.0
        assert scores.risk_level == risk_level(scores.fraud_score)
        assert scorer.score(event.model_copy(deep=True)) == scores
    features = feature_vector(event)
    assert len(features) == len(FEATURE_NAMES)
    # Rates are fractions whatever the counters say.
    named = dict(zip(FEATURE_NAMES, features, strict=True))
    assert all(0.0 <= named[r] <= 1.0 for r in ("failure_rate", "refund_rate", "dispute_rate"))


def test_risk_level_thresholds():
    assert [risk_level(s) for s in (0.0, 0.299999, 0.3, 0.699999, 0.7, 1.0)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]
