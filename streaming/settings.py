"""Settings of the Kafka side: the broker, how topics are created, and the load generator.

`KafkaSettings` reads `KAFKA_BOOTSTRAP_SERVERS` (contract §7 uses the same name) and, for
topics it creates, `PAYSTREAM_TOPIC_PARTITIONS` / `PAYSTREAM_TOPIC_RETENTION_HOURS`.
`LoadSettings` (prefix `PAYSTREAM_LOAD_`) says where JR and its files are.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse.settings import REPO_ROOT, RUN_DIR


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


def _default_cache_dir() -> Path:
    """Where `make setup` installs JR: $PAYSTREAM_CACHE, as deploy/local/setup.sh reads it."""
    cache = os.environ.get("PAYSTREAM_CACHE")
    if cache:
        return Path(cache)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "paystream"


class LoadSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_LOAD_", frozen=True)

    jr_bin: Path = Field(default_factory=lambda: _default_cache_dir() / "bin" / "jr")
    jr_system_dir: Path = Field(default_factory=lambda: _default_cache_dir() / "jr")
    templates_dir: Path = REPO_ROOT / "jr_templates"
    # The librdkafka config JR reads, and JR's own output, per run.
    conf_dir: Path = RUN_DIR / "conf" / "jr"
    log_dir: Path = RUN_DIR / "logs" / "jr"
    progress_interval_seconds: float = Field(default=2.0, gt=0)
    # JR's passes are no shorter than this: faster rates put more messages in each pass.
    min_pass_interval_seconds: float = Field(default=0.2, gt=0)
