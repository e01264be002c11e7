"""The Flink jobs the submitter knows, as data.

A job is a name (its `pipeline.name`, which is how a running copy is recognised), what
runs it, and a function that creates the tables it writes (idempotently) before it is
submitted. A `SqlJob` is a SQL script for the SQL client; a `PyFlinkJob` is a PyFlink
program for `flink run -py`, configured through environment variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass(frozen=True)
class PyFlinkJob:
    name: str
    description: str
    # The program `flink run -py` runs; it must set `pipeline.name` to `name`.
    script: Path
    # The program's settings as environment variables, from the submitter's job settings.
    environment: Callable[[JobSettings], dict[str, str]] = field(default=lambda settings: {})
    prepare: Callable[[JobSettings], None] = field(default=lambda settings: None)


Job = SqlJob | PyFlinkJob


def registered_jobs() -> dict[str, Job]:
    """Every job `make submit` runs, by name."""
    from flink_jobs.enrichment_job import ENRICHMENT_JOB
    from flink_jobs.normalization_job import NORMALIZATION_JOB
    from flink_jobs.validation_job import VALIDATION_JOB

    return {job.name: job for job in (VALIDATION_JOB, NORMALIZATION_JOB, ENRICHMENT_JOB)}
