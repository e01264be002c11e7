"""Settings of the side stream's bridge and worker (env prefix WORKFLOWS_).

Kafka's bootstrap servers come from `KafkaSettings` (KAFKA_BOOTSTRAP_SERVERS), as for
every other service. The recovery attempts live in the platform's PostgreSQL; its
default DSN is built from the lakehouse's settings (LAKEHOUSE_CATALOG_DB_*, whose password
`make up` generates into .run/secrets/catalog.env).
"""

from __future__ import annotations

from urllib.parse import quote

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.topics import ENRICHED, NORMALIZED
from lakehouse.settings import LakehouseSettings
from streaming.settings import KafkaSettings
from workflows.models import MAX_INFERENCE_BATCH


def _platform_postgres_dsn() -> str:
    db = LakehouseSettings()
    return (
        f"postgresql://{db.catalog_db_user}:{quote(db.catalog_db_password, safe='')}"
        f"@{db.catalog_db_host}:{db.catalog_db_port}/{db.catalog_db_name}"
    )


class WorkflowSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WORKFLOWS_", frozen=True)

    temporal_address: str = Field(default="127.0.0.1:7233", min_length=1)
    temporal_namespace: str = Field(default="default", min_length=1)
    task_queue: str = Field(default="payments-enrichment", min_length=1)

    inference_url: str = Field(default="http://127.0.0.1:8001", min_length=1)
    inference_timeout_seconds: float = Field(default=10.0, gt=0)
    # The inference activities' retry policy (5 attempts, exponential); tests shorten it.
    inference_retry_initial_seconds: float = Field(default=1.0, gt=0)
    inference_retry_max_seconds: float = Field(default=30.0, gt=0)
    # The persistence activities retry without limit (workflows.policies); these shape
    # their backoff, whose interval never grows beyond the maximum. Tests shorten them.
    persistence_retry_initial_seconds: float = Field(default=1.0, gt=0)
    persistence_retry_max_seconds: float = Field(default=30.0, gt=0)
    # How long one publish waits for Kafka's acknowledgements before that try fails; it
    # must end well inside the activity's start-to-close timeout (60 s).
    publish_timeout_seconds: float = Field(default=30.0, gt=0, le=50)

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    source_topic: str = Field(default=NORMALIZED, min_length=1)
    sink_topic: str = Field(default=ENRICHED, min_length=1)
    consumer_group: str = Field(default="paystream-enrichment-bridge", min_length=1)
    # A bridge killed -9 holds its partitions until this runs out; its restart waits that long.
    consumer_session_timeout_ms: int = Field(default=10_000, ge=6_000)

    # One workflow per aligned range of this many offsets of a partition.
    batch_size: int = Field(default=200, ge=1, le=MAX_INFERENCE_BATCH)
    # A range that is not full is flushed after this long, so a slow stream still flows.
    batch_max_wait_seconds: float = Field(default=2.0, gt=0)
    # After a failure (Kafka or Temporal unreachable) the bridge re-reads from its last
    # commit after a pause that starts here and doubles up to the maximum; the bridge and
    # the worker wait for an unreachable Temporal at start-up the same way.
    bridge_retry_seconds: float = Field(default=2.0, gt=0)
    bridge_retry_max_seconds: float = Field(default=30.0, gt=0)

    # Workflow tasks one worker process runs at once. Its workflow code shares one GIL, so
    # a task's wall time grows with their number: at the SDK's default (100) an overloaded
    # worker took longer than the 10 s workflow task timeout over each, so every task timed
    # out, was replayed and timed out again, and the side stream stalled (the 2,000/s soak of
    # 2026-12-04, bench/RESULTS.md). A few at a time finish and free the next; more
    # throughput is more worker processes on the task queue.
    # (At least 2: the SDK needs two while it caches workflows, as it does here.)
    max_concurrent_workflow_tasks: int = Field(default=4, ge=2)
    # Activities (inference calls, Kafka and PostgreSQL writes) wait on I/O: more at once.
    max_concurrent_activities: int = Field(default=50, ge=1)

    # The worker's Prometheus endpoint (Temporal SDK metrics and the persistence retry
    # counter) on 127.0.0.1. Off (0) unless set: the platform's worker sets it
    # (deploy/local/services.py); a test's or benchmark's extra workers must not take it.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    # The bridge's own metrics (batches, workflow starts, its consumer lag), the same way.
    bridge_metrics_port: int = Field(default=0, ge=0, le=65535)

    # Recovery timers are the retry strategy's delay times this, so demos take seconds.
    recovery_delay_scale: float = Field(default=1.0, gt=0)
    recovery_max_attempts: int = Field(default=3, ge=1)

    postgres_dsn: str = Field(default_factory=_platform_postgres_dsn, min_length=1)
    recovery_table: str = Field(default="payment_recovery_attempts", pattern=r"^[a-z_][a-z0-9_]*$")
    # Which enrichment workflow owns each event_id: the dedupe of redelivered events.
    claims_table: str = Field(default="payment_enrichment_claims", pattern=r"^[a-z_][a-z0-9_]*$")
