"""What a Flink job is: a name, the SQL script it renders from settings, and the tables it
needs before it runs. Every job is a SQL script for the SQL client; `deploy/flink` submits
them, this package only defines them (it never knows how the platform is started).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.paths import udf_jar
from streaming.settings import KafkaSettings

DEFAULT_CHECKPOINT_INTERVAL = "5s"


class JobSettings(BaseSettings):
    """What every job's SQL is rendered with (env prefix PAYSTREAM_JOB_)."""

    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_JOB_", frozen=True)

    # Where the jobs read Kafka: KAFKA_BOOTSTRAP_SERVERS, as everything else does.
    kafka_bootstrap_servers: str = Field(default_factory=lambda: KafkaSettings().bootstrap_servers)
    # Iceberg commits on checkpoints, so this interval is also the data's freshness.
    checkpoint_interval: str = DEFAULT_CHECKPOINT_INTERVAL
    parallelism: int = Field(default=1, ge=1)
    # The jar of the jobs' own SQL functions (flink_jobs/udf) as the cluster sees it: the
    # one `make setup` builds, or e.g. a path inside a Kubernetes image.
    udf_jar: str = Field(default_factory=lambda: str(udf_jar()))


@dataclass(frozen=True)
class SqlJob:
    """A job: its `name` is its `pipeline.name`, which is how a running copy is recognised.

    `render` gives the whole script (SET statements, tables, views, one statement set),
    to run after the catalog's init file; `prepare` creates the tables it writes, if
    missing, before it is submitted.
    """

    name: str
    description: str
    render: Callable[[JobSettings], str]
    prepare: Callable[[JobSettings], None] = field(default=lambda settings: None)


# The one kind of job.
Job: TypeAlias = SqlJob


def prepare_contract_tables(settings: JobSettings) -> None:
    """Creates every table of the contract that is missing: the jobs share them."""
    # Here, not at the top: the Flink venv, where the tests plan the jobs, has no PyIceberg.
    from lakehouse.clients import load_catalog
    from lakehouse.settings import LakehouseSettings
    from lakehouse.tables import ensure_tables

    lakehouse = LakehouseSettings()
    ensure_tables(load_catalog(lakehouse), lakehouse.namespace)
