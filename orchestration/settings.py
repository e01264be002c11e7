"""Settings of the Dagster side (env prefix ORCHESTRATION_): where it reads the platform's
metrics. Trino's coordinates are `lakehouse.settings`, shared with every engine."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class OrchestrationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORCHESTRATION_", frozen=True)

    # Contract §1's Prometheus (the local platform's, `make up`).
    prometheus_url: str = "http://127.0.0.1:9090"
