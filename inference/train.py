"""`python -m inference.train [--seed N] [--rows N] [--output PATH]`: fits the fraud and
churn logistic regressions on generated customer history and writes the model file the
service loads (INFERENCE_MODEL_PATH, by default `.run/models/scoring-logreg-1.json`).

The history is synthetic: events drawn from the mix a small merchant sees, labelled by a
hidden process that is *not* the heuristic (it has interactions, e.g. large first
payments and small card-testing declines, that a hand-set linear rule misses). It shows
the training, versioning and serving path end to end; it is not evidence about real
fraud. The same seed and row count write the same file, byte for byte.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from inference.features import FEATURE_NAMES, feature_vector
from inference.model_file import model_document, write_model
from inference.schemas import CustomerHistory, PaymentEvent
from inference.scoring import HEURISTIC_CHURN, HEURISTIC_FRAUD, LinearModel
from inference.settings import InferenceSettings

DEFAULT_SEED = 20261122
DEFAULT_ROWS = 20_000
HOLDOUT_FRACTION = 0.2
# Rounded so that last-bit differences in the solver's arithmetic cannot change the file.
WEIGHT_DECIMALS = 8

CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CAD", "BHD", "ZZZ")
CURRENCY_WEIGHTS = (0.45, 0.25, 0.1, 0.08, 0.06, 0.05, 0.01)
EVENT_TYPES = (
    "payment.succeeded",
    "payment.failed",
    "refund.succeeded",
    "dispute.created",
    "subscription.updated",
    "subscription.canceled",
)
EVENT_TYPE_WEIGHTS = (0.68, 0.15, 0.06, 0.02, 0.06, 0.03)
FAILURE_CODES = (
    "insufficient_funds",
    "card_declined",
    "do_not_honor",
    "expired_card",
    "incorrect_cvc",
    "fraudulent",
    "stolen_card",
    "processing_error",
    "GENERIC_DECLINE",
    "CVV_FAILURE",
)
METHODS = ("card", "card", "card", "us_bank_account", "apple_pay")
BRANDS = ("visa", "mastercard", "amex", "discover", "JCB", "prepaid_local", None)
BRAND_WEIGHTS = (0.45, 0.3, 0.1, 0.05, 0.04, 0.03, 0.03)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def generated_event(rng: np.random.Generator, n: int) -> PaymentEvent:
    event_type = str(rng.choice(EVENT_TYPES, p=EVENT_TYPE_WEIGHTS))
    method = str(rng.choice(METHODS))
    payments = int(rng.poisson(rng.choice((0.3, 4.0, 25.0))))
    return PaymentEvent(
        event_id=f"train-{n}",
        event_type=event_type,
        status=event_type.split(".")[1],
        currency=str(rng.choice(CURRENCIES, p=CURRENCY_WEIGHTS)),
        amount_minor=int(rng.lognormal(mean=8.0, sigma=1.5)),
        payment_method_type=method,
        card_brand=BRANDS[rng.choice(len(BRANDS), p=BRAND_WEIGHTS)] if method == "card" else None,
        failure_code=str(rng.choice(FAILURE_CODES)) if event_type == "payment.failed" else None,
        customer_history=CustomerHistory(
            payments=payments,
            failed_payments=int(rng.binomial(payments, rng.choice((0.02, 0.1, 0.4)))),
            refunds=int(rng.binomial(payments, 0.05)),
            disputes=int(rng.binomial(payments, rng.choice((0.0, 0.0, 0.01, 0.2)))),
        ),
    )


def hidden_fraud_logit(f: dict[str, float]) -> float:
    card_testing = f["decline_update"] * float(f["log_amount"] < 1.5)
    return (
        -4.2
        + 0.3 * f["log_amount"]
        + 0.9 * f["log_amount"] * f["new_customer"]
        + 4.0 * f["decline_fraud"]
        + 2.5 * card_testing
        + 2.5 * f["dispute_event"]
        + 5.0 * f["dispute_rate"]
        + 1.0 * f["currency_unknown"]
        + 0.8 * f["card_brand_unknown"]
        + 1.0 * f["failure_rate"]
        - 0.6 * f["log_payments"]
        - 0.8 * f["method_bank"]
    )


def hidden_churn_logit(f: dict[str, float]) -> float:
    return (
        -3.0
        + 1.2 * f["payment_failed"]
        + 1.5 * f["decline_update"]
        + 0.8 * f["decline_funds"]
        + 4.5 * f["subscription_canceled"]
        + 1.0 * f["refund_event"]
        + 1.8 * f["dispute_event"]
        + 2.5 * f["failure_rate"] * (1 - f["new_customer"])
        + 1.5 * f["refund_rate"]
        - 0.7 * f["log_payments"]
    )


@dataclass(frozen=True)
class History:
    features: np.ndarray
    fraud: np.ndarray
    churn: np.ndarray


def generated_history(seed: int, rows: int) -> History:
    rng = np.random.default_rng(seed)
    vectors, fraud, churn = [], [], []
    for n in range(rows):
        vector = feature_vector(generated_event(rng, n))
        named = dict(zip(FEATURE_NAMES, vector, strict=True))
        vectors.append(vector)
        fraud.append(rng.random() < sigmoid(hidden_fraud_logit(named)))
        churn.append(rng.random() < sigmoid(hidden_churn_logit(named)))
    return History(np.array(vectors), np.array(fraud), np.array(churn))


def fit(features: np.ndarray, labels: np.ndarray) -> LinearModel:
    regression = LogisticRegression(C=1.0, solver="lbfgs", max_iter=5000)
    regression.fit(features, labels)
    return LinearModel(
        round(float(regression.intercept_[0]), WEIGHT_DECIMALS),
        tuple(round(float(w), WEIGHT_DECIMALS) for w in regression.coef_[0]),
    )


def auc(model: LinearModel, features: np.ndarray, labels: np.ndarray) -> float:
    scores = [model.probability(tuple(row)) for row in features.tolist()]
    return round(float(roc_auc_score(labels, scores)), 4)


def train(seed: int, rows: int) -> dict[str, Any]:
    """The model file's document: weights fitted on the first 80% of the generated history,
    and the held-out AUC of the model beside the heuristic's, for comparison."""
    history = generated_history(seed, rows)
    cut = int(rows * (1 - HOLDOUT_FRACTION))
    train_x, test_x = history.features[:cut], history.features[cut:]
    fraud = fit(train_x, history.fraud[:cut])
    churn = fit(train_x, history.churn[:cut])
    training = {
        "seed": seed,
        "rows": rows,
        "holdout_rows": rows - cut,
        "data": "synthetic (inference.train.generated_history)",
        "scikit_learn": sklearn.__version__,
        "holdout_auc": {
            "fraud_model": auc(fraud, test_x, history.fraud[cut:]),
            "fraud_heuristic": auc(HEURISTIC_FRAUD, test_x, history.fraud[cut:]),
            "churn_model": auc(churn, test_x, history.churn[cut:]),
            "churn_heuristic": auc(HEURISTIC_CHURN, test_x, history.churn[cut:]),
        },
    }
    return model_document(fraud, churn, training)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.train", description=__doc__)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--output", type=Path, default=None, help="default: the model path")
    args = parser.parse_args(argv)
    if args.rows < 100:
        parser.error("--rows must be at least 100")
    output = args.output or InferenceSettings().model_path
    document = train(args.seed, args.rows)
    write_model(output, document)
    print(f"wrote {document['model_version']} to {output}")
    print(f"held-out AUC: {document['training']['holdout_auc']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
