"""A copy of the validation job (or another SQL job) on topics and tables of its own.

The benchmarks and the adversarial tests submit jobs through the project's submitter, on
unique topics, a unique Iceberg namespace and unique job names, and remove all of it
afterwards: the shared platform is left as it was found.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from contracts.events import EVENT_TYPES
from deploy.flink.flink_rest import FlinkRest
from deploy.flink.policy import RestoreMode, Submitted, Submitter, SubmitterSettings
from deploy.flink.restore import SubmissionLedger
from deploy.local.settings import StackSettings
from flink_jobs.job import Job, JobSettings, SqlJob
from flink_jobs.validation_job import kafka_source, render_validation_job
from lakehouse.clients import load_catalog
from lakehouse.settings import LakehouseSettings
from lakehouse.tables import ensure_tables
from streaming.settings import KafkaSettings, TopicSettings
from streaming.topics import delete_topics, ensure_topics


def quiet(_: str) -> None:
    """For the submitter's progress messages when nobody reads them."""


@dataclass
class Pipeline:
    """Unique topics (one per event type) and a namespace; jobs submitted on them."""

    suffix: str
    topics: dict[str, str]
    namespace: str
    bootstrap: str
    submitter: Submitter
    kafka: KafkaSettings
    job_names: list[str] = field(default_factory=list)

    def validation_job(self, name: str) -> SqlJob:
        topics, namespace = self.topics, self.namespace
        return SqlJob(
            name=name,
            description="validation job on benchmark topics",
            render=lambda s: render_validation_job(
                s, namespace=namespace, job_name=name, group_id=name, topics=topics
            ),
            prepare=lambda s: self.ensure_tables(),
        )

    def ensure_tables(self) -> None:
        """Every table of the contract, in the run's namespace."""
        ensure_tables(load_catalog(self.submitter.lakehouse), self.namespace)

    def passthrough_job(self, name: str) -> SqlJob:
        """The same Kafka sources as the validation job into a `blackhole` sink: the
        ceiling of reading the topics on this cluster."""
        topics = self.topics

        def render(settings: JobSettings) -> str:
            sources = "\n".join(
                kafka_source(t, topics[t.name], settings.kafka_bootstrap_servers, name)
                for t in EVENT_TYPES
            )
            union = "\nUNION ALL\n".join(
                f"SELECT payload, kafka_partition, kafka_offset FROM raw_{t.name}"
                for t in EVENT_TYPES
            )
            return f"""SET 'execution.checkpointing.interval' = '{settings.checkpoint_interval}';
SET 'execution.checkpointing.mode' = 'EXACTLY_ONCE';
SET 'parallelism.default' = '{settings.parallelism}';
{sources}
CREATE TEMPORARY TABLE passthrough_sink (
  payload STRING, kafka_partition INT, kafka_offset BIGINT
) WITH ('connector' = 'blackhole');
INSERT INTO passthrough_sink
{union};
"""

        return SqlJob(name=name, description="pass-through to blackhole", render=render)

    def submit(self, job: Job) -> Submitted:
        self.job_names.append(job.name)
        return self.submitter.submit(job, RestoreMode.FRESH)

    def cancel(self, name: str) -> None:
        self.submitter.cancel(name)

    def committed(self, group_id: str) -> int:
        """How many messages the group has committed over all the topics (offset sum)."""
        consumer = Consumer(
            {"bootstrap.servers": self.bootstrap, "group.id": group_id, "log_level": 0}
        )
        try:
            partitions = [
                TopicPartition(topic, p)
                for topic in self.topics.values()
                for p in range(self.kafka.topics.partitions)
            ]
            return sum(max(tp.offset, 0) for tp in consumer.committed(partitions, timeout=10))
        finally:
            consumer.close()

    def producer(self, **config: object) -> Producer:
        return Producer(
            {
                "bootstrap.servers": self.bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                **config,
            }
        )


def make_submitter(
    checkpoint_interval: str, state_dir: Path, say: Callable[[str], None] = quiet
) -> Submitter:
    stack = StackSettings()
    submitter = Submitter(
        stack,
        LakehouseSettings(),
        JobSettings(checkpoint_interval=checkpoint_interval),
        SubmitterSettings(running_timeout_seconds=180),
        FlinkRest(f"http://127.0.0.1:{stack.flink_rest_port}"),
        say=say,
    )
    # The platform's ledger is for `make submit`; these jobs keep their own.
    state_dir.mkdir(parents=True, exist_ok=True)
    submitter.ledger = SubmissionLedger(state_dir / "submissions.json")
    return submitter


def forget(submitter: Submitter, name: str) -> None:
    """Cancels the job and removes every file of its state."""
    submitter.cancel(name)
    shutil.rmtree(submitter.state_dirs.savepoints_of(name), ignore_errors=True)
    for job_id in submitter.ledger.job_ids(name):
        shutil.rmtree(submitter.state_dirs.checkpoints / job_id, ignore_errors=True)
    for suffix in (".sql", ".lock"):
        (submitter.jobs_dir / f"{name}{suffix}").unlink(missing_ok=True)


@contextmanager
def pipeline(
    prefix: str,
    *,
    partitions: int,
    checkpoint_interval: str,
    state_dir: Path,
    say: Callable[[str], None] = quiet,
) -> Iterator[Pipeline]:
    """Topics and a namespace of their own; afterwards the jobs, topics and tables go."""
    suffix = uuid.uuid4().hex[:8]
    stack = StackSettings()
    bootstrap = f"127.0.0.1:{stack.kafka_port}"
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topics=TopicSettings(partitions=partitions))
    topics = {t.name: f"{prefix}.{suffix}.{t.topic}" for t in EVENT_TYPES}
    ensure_topics(kafka, names=tuple(topics.values()), report=lambda _: None)
    submitter = make_submitter(checkpoint_interval, state_dir / suffix, say)
    catalog = load_catalog(submitter.lakehouse)
    namespace = f"{prefix.replace('-', '_')}_{suffix}"
    catalog.create_namespace(namespace)
    p = Pipeline(suffix, topics, namespace, bootstrap, submitter, kafka)
    try:
        yield p
    finally:
        for name in p.job_names:
            forget(submitter, name)
        delete_topics(kafka, tuple(topics.values()))
        for identifier in catalog.list_tables(namespace):
            catalog.purge_table(identifier)
        catalog.drop_namespace(namespace)
        submitter.flink.close()
