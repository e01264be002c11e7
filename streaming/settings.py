"""Settings of the Kafka side: the broker and how topics are created.

`KafkaSettings` reads `KAFKA_BOOTSTRAP_SERVERS` (contract §7 uses the same name) and, for
topics it creates, `PAYSTREAM_TOPIC_PARTITIONS` / `PAYSTREAM_TOPIC_RETENTION_HOURS`.
The JR driver's settings are `loadgen.jr.settings.LoadSettings`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TopicSettings(BaseSettings):
    """How `ensure_topics` creates a missing topic; existing topics are left as they are."""

    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_TOPIC_", frozen=True)

    # One partition per core of a small box, and some room to scale consumers out.
    partitions: int = Field(default=3, ge=1)
    # A single local broker can only hold one replica.
    replication_factor: int = Field(default=1, ge=1)
    retention_hours: int = Field(default=7 * 24, ge=1)

    @property
    def retention_ms(self) -> int:
        return self.retention_hours * 3_600_000


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKA_", frozen=True)

    bootstrap_servers: str = Field(default="127.0.0.1:9092", min_length=1)
    topics: TopicSettings = Field(default_factory=TopicSettings)
