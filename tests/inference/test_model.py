"""The trained model: deterministic training, the file the service loads, the heuristic
when there is no file, and a refusal to start on a file it cannot trust."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from inference.features import FEATURE_NAMES
from inference.main import create_app
from inference.model_file import ModelFileError, model_document, write_model
from inference.scoring import HEURISTIC_VERSION, LinearModel
from inference.settings import InferenceSettings
from inference.train import main as train_main
from inference.train import train
from tests.inference.conftest import TEST_SEED, TEST_TRAINING_ROWS, client_for, model_version_in
from tests.inference.events import varied_events

ROWS = 1000


def test_training_is_deterministic_to_the_byte(tmp_path: Path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    write_model(first, train(seed=5, rows=ROWS))
    write_model(second, train(seed=5, rows=ROWS))
    assert first.read_bytes() == second.read_bytes()
    other = train(seed=6, rows=ROWS)
    assert other["model_version"] != model_version_in(first)
    assert other["fraud"]["weights"] != json.loads(first.read_text())["fraud"]["weights"]


def test_the_trained_model_learned_something(trained_model: Path):
    document = json.loads(trained_model.read_text())
    assert document["training"]["seed"] == TEST_SEED
    assert document["training"]["rows"] == TEST_TRAINING_ROWS
    auc = document["training"]["holdout_auc"]
    # Far better than chance on data it did not see (0.5 is a coin).
    assert auc["fraud_model"] > 0.7 and auc["churn_model"] > 0.7
    # The issuer saying "fraud" raises the odds of fraud.
    fraud_weights = dict(zip(FEATURE_NAMES, document["fraud"]["weights"], strict=True))
    assert fraud_weights["decline_fraud"] > 1


def test_the_command_writes_the_model_file_and_names_its_version(tmp_path: Path, capsys):
    output = tmp_path / "nested" / "model.json"
    assert train_main(["--seed", "3", "--rows", "500", "--output", str(output)]) == 0
    version = model_version_in(output)
    assert version.startswith("logreg-1-") and version in capsys.readouterr().out
    assert not list(output.parent.glob("*.partial"))


def test_the_service_scores_with_the_model_file_when_it_exists(trained_model: Path):
    with client_for(trained_model) as client:
        health = client.get("/health").json()
        assert health == {
            "status": "ok",
            "model_version": model_version_in(trained_model),
            "scorer": "model",
        }
        batch = client.post("/v1/score/batch", json={"events": varied_events(20)}).json()
    assert batch["model_version"] == model_version_in(trained_model)


def test_the_service_uses_the_heuristic_when_there_is_no_model_file(
    tmp_path: Path, trained_model: Path
):
    events = varied_events(20)
    with client_for(tmp_path / "missing.json") as client:
        assert client.get("/health").json()["scorer"] == "heuristic"
        heuristic = client.post("/v1/score/batch", json={"events": events}).json()
    with client_for(trained_model) as client:
        model = client.post("/v1/score/batch", json={"events": events}).json()
    assert heuristic["model_version"] == HEURISTIC_VERSION
    # Different weights, different scores: the version is not the only thing that changed.
    assert [r["fraud_score"] for r in heuristic["results"]] != [
        r["fraud_score"] for r in model["results"]
    ]


def test_the_scores_come_from_the_files_weights(tmp_path: Path):
    """A model whose weights are all zero says 0.5 to everything (sigmoid(0)); one with
    a large positive intercept says ~1: the service computes with what the file holds."""
    zero = LinearModel(0.0, (0.0,) * len(FEATURE_NAMES))
    certain = LinearModel(30.0, (0.0,) * len(FEATURE_NAMES))
    path = tmp_path / "model.json"
    write_model(path, model_document(certain, zero, {"note": "hand-made"}))
    with client_for(path) as client:
        results = client.post("/v1/score/batch", json={"events": varied_events(10)}).json()
    assert {(r["fraud_score"], r["risk_level"], r["churn_score"]) for r in results["results"]} == {
        (1.0, "high", 0.5)
    }


def tampered(document: dict) -> dict:
    document["fraud"]["weights"][0] += 1.0
    return document


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        pytest.param(lambda d: "{not json", "unreadable", id="not-json"),
        pytest.param(lambda d: json.dumps(tampered(d)), "do not match", id="tampered-weights"),
        pytest.param(
            lambda d: json.dumps(d | {"feature_names": ["log_amount"]}),
            "other features",
            id="other-features",
        ),
        pytest.param(lambda d: json.dumps(d | {"format": 99}), "format", id="future-format"),
        pytest.param(
            lambda d: json.dumps({"format": 1, "feature_names": list(FEATURE_NAMES)}),
            "unreadable",
            id="no-weights",
        ),
    ],
)
def test_a_model_file_that_cannot_be_trusted_stops_the_service(tmp_path: Path, content, complaint):
    document = train(seed=1, rows=300)
    path = tmp_path / "model.json"
    path.write_text(content(document))
    with pytest.raises(ModelFileError, match=complaint):
        create_app(InferenceSettings(model_path=path))


def test_the_model_path_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, trained_model: Path
):
    monkeypatch.setenv("INFERENCE_MODEL_PATH", str(trained_model))
    monkeypatch.setenv("INFERENCE_PORT", "8123")
    settings = InferenceSettings()
    assert settings.model_path == trained_model and settings.port == 8123
    with TestClient(create_app()) as client:
        assert client.get("/health").json()["scorer"] == "model"
