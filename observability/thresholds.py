"""The thresholds the alert rules fire on and the Dagster monitoring checks fail on: one set,
from the environment (prefix PAYSTREAM_ALERT_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AlertThresholds(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_ALERT_", frozen=True)

    # A consumer group this many messages behind, and still falling behind, is alerting.
    consumer_lag_messages: int = Field(default=50_000, ge=0)
    # How long the lag must keep growing (and an alert's condition hold) before it fires.
    for_minutes: float = Field(default=2.0, ge=0)
    # Share of a pipeline's rows (5 min) that may go to its quarantine table.
    quarantine_share: float = Field(default=0.2, ge=0, le=1)
    # Share of the gateway's answers (1 min) that may be 503s / dead letters.
    gateway_5xx_share: float = Field(default=0.05, ge=0, le=1)
    gateway_dlq_share: float = Field(default=0.5, ge=0, le=1)
    # A raw topic with no new message for this long while the gateway accepts webhooks,
    # or the unified table with no new row for this long while its topics grow: no data.
    no_data_minutes: float = Field(default=5.0, gt=0)
    # Busiest task of a Flink job back-pressured this share of the time.
    flink_backpressure: float = Field(default=0.8, ge=0, le=1)
