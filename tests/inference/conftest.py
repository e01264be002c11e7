from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from inference.main import create_app
from inference.model_file import write_model
from inference.settings import InferenceSettings
from inference.train import train

# Small enough to train in about a second, big enough to learn something.
TEST_TRAINING_ROWS = 3000
TEST_SEED = 11


def client_for(model_path: Path) -> TestClient:
    return TestClient(create_app(InferenceSettings(model_path=model_path)))


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "scoring.json"
    write_model(path, train(TEST_SEED, TEST_TRAINING_ROWS))
    return path


@pytest.fixture
def heuristic_client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(tmp_path / "no-model-here.json") as client:
        yield client


@pytest.fixture
def model_client(trained_model: Path) -> Iterator[TestClient]:
    with client_for(trained_model) as client:
        yield client


@pytest.fixture(params=["heuristic", "model"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """The service with each scorer: every API test runs against both."""
    if request.param == "heuristic":
        path = tmp_path / "no-model-here.json"
    else:
        path = request.getfixturevalue("trained_model")
    with client_for(path) as client:
        yield client


def model_version_in(path: Path) -> str:
    return str(json.loads(path.read_text())["model_version"])
