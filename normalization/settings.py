"""Settings of the normalisation job (env prefix PAYSTREAM_NORMALIZATION_).

Every name the job touches is here, so a test runs it on topics and a namespace of its
own: `source_topics` (provider -> raw topic, defaults from the mappings), `normalized_topic`,
`catalog` and `namespace`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.paths import udf_jar
from contracts.topics import NORMALIZED
from flink_jobs.job import DEFAULT_CHECKPOINT_INTERVAL
from lakehouse.settings import LakehouseSettings
from normalization.providers import PROVIDERS
from streaming.settings import KafkaSettings

JOB_NAME = "payments-normalization"
# A provider retries a webhook for up to 3 days (Stripe) or 24 hours (Square); a week
# of state covers those and a replay of the raw topics' 7-day retention.
MIN_DEDUP_TTL = timedelta(days=7)
# Kafka aborts a transaction left open longer than this. A checkpoint's transaction stays
# open until the checkpoint completes, and after a failure until the restarted job commits
# it from its state, so the timeout covers a checkpoint interval plus a recovery; the broker
# refuses more than its transaction.max.timeout.ms (Kafka's default 15 min, 1 h locally).
DEFAULT_TRANSACTION_TIMEOUT = timedelta(minutes=15)
# Flink's duration syntax as the job settings write it: "5s", "500 ms", "1 min"; no unit
# means milliseconds.
FLINK_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|min|h|d)?\s*$")
FLINK_DURATION_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "min": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
}


def flink_duration(text: str) -> timedelta:
    match = FLINK_DURATION.match(text)
    if not match:
        raise ValueError(f"not a Flink duration: {text!r} (say e.g. 5s, 500ms, 1min)")
    return int(match[1]) * FLINK_DURATION_UNITS[match[2] or "ms"]


class NormalizationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_NORMALIZATION_", frozen=True)

    job_name: str = JOB_NAME
    group_id: str = "paystream-normalization"
    kafka_bootstrap_servers: str = Field(default_factory=lambda: KafkaSettings().bootstrap_servers)
    # Provider name -> raw topic; providers not named here read their contract topic.
    source_topics: dict[str, str] = Field(default_factory=dict)
    normalized_topic: str = NORMALIZED
    catalog: str = Field(default_factory=lambda: LakehouseSettings().catalog_name)
    namespace: str = Field(default_factory=lambda: LakehouseSettings().namespace)
    # Iceberg commits on checkpoints: the interval is the tables' freshness.
    checkpoint_interval: str = DEFAULT_CHECKPOINT_INTERVAL
    parallelism: int = Field(default=1, ge=1)
    # The jar of the jobs' SQL functions (flink_jobs.job.JobSettings.udf_jar).
    udf_jar: str = Field(default_factory=lambda: str(udf_jar()))
    # How long a provider event id is remembered to drop its redeliveries.
    dedup_ttl: timedelta = MIN_DEDUP_TTL
    # Exactly-once: payments.normalized is written in Kafka transactions committed with each
    # checkpoint, so a read_committed consumer sees every event once, also across failures
    # (the events since the last checkpoint are aborted and sent again). At-least-once
    # shows them sooner but twice after a failure.
    normalized_delivery_guarantee: Literal["at-least-once", "exactly-once"] = "exactly-once"
    normalized_transaction_timeout: timedelta = DEFAULT_TRANSACTION_TIMEOUT

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

    @model_validator(mode="after")
    def _transactions_outlast_a_checkpoint(self) -> NormalizationSettings:
        interval = flink_duration(self.checkpoint_interval)
        if self.normalized_transaction_timeout <= interval:
            raise ValueError(
                f"normalized_transaction_timeout ({self.normalized_transaction_timeout}) must be"
                f" longer than the checkpoint interval ({interval}): Kafka would abort"
                " transactions before their checkpoint commits them"
            )
        return self

    @property
    def transactional_id_prefix(self) -> str:
        """Unique per job (the submitter never runs two jobs of one name): a job's restart
        aborts the transactions its crashed run left open, and only those."""
        return f"{self.job_name}.normalized"

    def topic_of(self, provider: str) -> str:
        default = next(p.topic for p in PROVIDERS if p.name == provider)
        return self.source_topics.get(provider, default)
