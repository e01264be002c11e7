"""The trained model's file: plain JSON (weights, feature names, how it was trained).

JSON rather than a pickle/joblib dump: loading it runs no code, it reads the same in any
scikit-learn version (the service only needs the weights), and the same seed writes the
same bytes, which the training test checks.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from inference.features import FEATURE_NAMES
from inference.scoring import HEURISTIC_SCORER, LinearModel, Scorer

FORMAT = 1
MODEL_FAMILY = "logreg-1"  # bump when the features or the training change meaning


class ModelFileError(ValueError):
    """The model file exists but cannot be used: the service refuses to start rather than
    silently scoring with something else."""


def _linear_json(model: LinearModel) -> dict[str, Any]:
    return {"intercept": model.intercept, "weights": list(model.weights)}


def model_version(fraud: LinearModel, churn: LinearModel) -> str:
    """`logreg-1-<first 12 hex of SHA-256 over the weights>`: new weights, new version."""
    weights = {"fraud": _linear_json(fraud), "churn": _linear_json(churn)}
    digest = hashlib.sha256(json.dumps(weights, sort_keys=True).encode()).hexdigest()
    return f"{MODEL_FAMILY}-{digest[:12]}"


def model_document(
    fraud: LinearModel, churn: LinearModel, training: dict[str, Any]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "model_version": model_version(fraud, churn),
        "feature_names": list(FEATURE_NAMES),
        "fraud": _linear_json(fraud),
        "churn": _linear_json(churn),
        "training": training,
    }


def write_model(path: Path, document: dict[str, Any]) -> None:
    """Writes through a temporary file, so a reader never sees half a model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    partial.replace(path)


def _linear(document: dict[str, Any], name: str) -> LinearModel:
    part = document[name]
    return LinearModel(float(part["intercept"]), tuple(float(w) for w in part["weights"]))


def read_model(path: Path) -> Scorer:
    try:
        document = json.loads(path.read_text())
        if document.get("format") != FORMAT:
            raise ModelFileError(f"format {document.get('format')!r}, expected {FORMAT}")
        if document.get("feature_names") != list(FEATURE_NAMES):
            raise ModelFileError("it was trained on other features: retrain it")
        fraud, churn = _linear(document, "fraud"), _linear(document, "churn")
    except ModelFileError as exc:
        raise ModelFileError(f"model file {path}: {exc}") from exc
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelFileError(f"model file {path} is unreadable: {exc!r}") from exc
    version = model_version(fraud, churn)
    if document.get("model_version") != version:
        raise ModelFileError(f"model file {path}: its weights do not match its version")
    return Scorer(version, "model", fraud, churn)


def load_scorer(path: Path) -> Scorer:
    """The trained model when its file exists, else the heuristic."""
    if not path.exists():
        return HEURISTIC_SCORER
    return read_model(path)
