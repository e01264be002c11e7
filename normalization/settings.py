"""Settings of the normalisation job (env prefix PAYSTREAM_NORMALIZATION_).

Every name the job touches is here, so a test runs it on topics and a namespace of its
own: `source_topics` (provider -> raw topic, defaults from the mappings), `normalized_topic`,
`catalog` and `namespace`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse.settings import LakehouseSettings
from normalization.providers import PROVIDERS
from streaming.settings import KafkaSettings

JOB_NAME = "payments-normalization"
# A provider retries a webhook for up to 3 days (Stripe) or 24 hours (Square); a week
# of state covers those and a replay of the raw topics' 7-day retention.
MIN_DEDUP_TTL = timedelta(days=7)


class NormalizationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_NORMALIZATION_", frozen=True)

    job_name: str = JOB_NAME
    group_id: str = "paystream-normalization"
    kafka_bootstrap_servers: str = Field(default_factory=lambda: KafkaSettings().bootstrap_servers)
    # Provider name -> raw topic; providers not named here read their contract topic.
    source_topics: dict[str, str] = Field(default_factory=dict)
    normalized_topic: str = "payments.normalized"
    catalog: str = Field(default_factory=lambda: LakehouseSettings().catalog_name)
    namespace: str = Field(default_factory=lambda: LakehouseSettings().namespace)
    # Iceberg commits on checkpoints: the interval is the tables' freshness.
    checkpoint_interval: str = "5s"
    parallelism: int = Field(default=1, ge=1)
    # How long a provider event id is remembered to drop its redeliveries.
    dedup_ttl: timedelta = MIN_DEDUP_TTL
    # At-least-once: after a failure the events since the last checkpoint are sent to
    # payments.normalized again (the tables stay exactly once); consumers are idempotent
    # by event_id. Exactly-once makes them wait for each checkpoint (read_committed).
    normalized_delivery_guarantee: Literal["at-least-once", "exactly-once"] = "at-least-once"

    @field_validator("dedup_ttl")
    @classmethod
    def _long_enough(cls, ttl: timedelta) -> timedelta:
        if ttl < MIN_DEDUP_TTL:
            raise ValueError(f"must be at least {MIN_DEDUP_TTL.days} days")
        return ttl

    @field_validator("source_topics")
    @classmethod
    def _known_providers(cls, topics: dict[str, str]) -> dict[str, str]:
        unknown = set(topics) - {p.name for p in PROVIDERS}
        if unknown:
            raise ValueError(f"unknown providers {sorted(unknown)}")
        return topics

    def topic_of(self, provider: str) -> str:
        default = next(p.topic for p in PROVIDERS if p.name == provider)
        return self.source_topics.get(provider, default)
