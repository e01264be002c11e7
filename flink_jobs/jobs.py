"""The Flink SQL jobs the submitter knows, as data.

A job is a name (its `pipeline.name`, which is how a running copy is recognised), a
function that renders its whole SQL script, and a function that creates the tables it
writes (idempotently) before it is submitted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from streaming.settings import KafkaSettings


class JobSettings(BaseSettings):
    """What every job's SQL is rendered with (env prefix PAYSTREAM_JOB_)."""

    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_JOB_", frozen=True)

    # Where the jobs read Kafka: KAFKA_BOOTSTRAP_SERVERS, as everything else does.
    kafka_bootstrap_servers: str = Field(default_factory=lambda: KafkaSettings().bootstrap_servers)
    # Iceberg commits on checkpoints, so this interval is also the data's freshness.
    checkpoint_interval: str = "5s"
    parallelism: int = 1


@dataclass(frozen=True)
class SqlJob:
    name: str
    description: str
    render: Callable[[JobSettings], str]
    prepare: Callable[[JobSettings], None] = field(default=lambda settings: None)


def registered_jobs() -> dict[str, SqlJob]:
    """Every job `make submit` runs, by name."""
    from flink_jobs.validation_job import VALIDATION_JOB

    return {job.name: job for job in (VALIDATION_JOB,)}
