"""The inference service's settings, from the environment (prefix `INFERENCE_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.paths import RUN_DIR

# The model file `python -m inference.train` writes by default. `.run/` is not committed
# and `make clean` removes it, so the model is rebuilt from the seed, never downloaded.
DEFAULT_MODEL_PATH = RUN_DIR / "models" / "scoring-logreg-1.json"


class InferenceSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INFERENCE_", frozen=True, extra="ignore", protected_namespaces=()
    )

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8001, ge=1, le=65535)
    # When this file is missing the service scores with the heuristics (`heuristic-1`).
    model_path: Path = DEFAULT_MODEL_PATH
