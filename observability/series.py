"""The Prometheus series of the platform, each name spelled here once.

Scraped from the services (job label = the supervised service's name) and the platform's
exporter (`observability.exporter`: Kafka offsets and lag, Iceberg table rows), and the
recording rules `deploy/local/prometheus.py` renders: the console, the Dagster monitoring
assets and the alert rules all read these names.
"""

from __future__ import annotations

from enum import StrEnum

from contracts.events import EVENT_TYPES
from contracts.topics import ENRICHED, WEBHOOK_RAW_TOPICS

# The exporter (`observability.exporter`), computed at each scrape.
TOPIC_END_OFFSET = "paystream_kafka_topic_end_offset"  # {topic}: sum of partitions' ends
CONSUMER_COMMITTED = "paystream_kafka_consumer_committed_offset"  # {group, topic}
CONSUMER_LAG = "paystream_kafka_consumer_lag"  # {group, topic}: end - committed, summed
TABLE_ROWS = "paystream_table_rows"  # {table, pipeline, kind}: current snapshot's rows
EXPORTER_SOURCE_UP = "paystream_exporter_source_up"  # {source}: kafka, iceberg answered
TABLE_LAST_COMMIT = "paystream_table_last_commit_timestamp_seconds"  # {table, pipeline, kind}

# The services' own series.
GATEWAY_REQUESTS = "gateway_requests_total"  # {provider, outcome}
FLINK_JOB_RESTARTS = "flink_jobmanager_job_numRestarts"  # {job_name}
FLINK_FAILED_CHECKPOINTS = "flink_jobmanager_job_numberOfFailedCheckpoints"  # {job_name}
FLINK_COMPLETED_CHECKPOINTS = "flink_jobmanager_job_numberOfCompletedCheckpoints"  # {job_name}
FLINK_BACKPRESSURED_MS = "flink_taskmanager_job_task_backPressuredTimeMsPerSecond"  # {job_name}
BRIDGE_BATCHES = "bridge_batches_total"
BRIDGE_WORKFLOW_STARTS = "bridge_workflow_starts_total"  # {outcome}
BRIDGE_LAG = "bridge_consumer_lag"  # {topic, partition}

# The Temporal SDK's own series on the worker's endpoint (scrape job WORKER_JOB), labelled
# {workflow_type, task_queue, namespace}. The worker keeps the SDK's Prometheus defaults
# (workflows/worker.py): counters without `_total`, durations in milliseconds. To verify
# on a running platform: seen so on a worker of temporalio 1.35 against a dev server, not
# yet through the platform's Prometheus.
WORKER_JOB = "worker"
WORKFLOW_COMPLETED = "temporal_workflow_completed"  # {workflow_type, ...}: counter
WORKFLOW_FAILED = "temporal_workflow_failed"  # {workflow_type, ...}: counter
WORKFLOW_LATENCY = "temporal_workflow_endtoend_latency"  # histogram: _bucket{le}, _sum, _count
WORKFLOW_LATENCY_UNIT_SECONDS = 0.001  # the histogram's buckets are in milliseconds

# Recording rules.
TOPIC_RATE = "paystream:topic_messages:rate1m"  # {topic}: messages/s into the topic
GROUP_LAG = "paystream:consumer_lag:sum"  # {group}: messages behind, every topic
TABLE_ROWS_RATE = "paystream:table_rows:rate5m"  # {table, pipeline, kind}: rows/s
QUARANTINE_SHARE = "paystream:quarantine_share:ratio5m"  # {pipeline}: quarantined / all
GATEWAY_RATE = "paystream:gateway_requests:rate1m"  # {outcome}: requests/s
GATEWAY_5XX_SHARE = "paystream:gateway_5xx_share:ratio1m"  # answered 503 / all
GATEWAY_DLQ_SHARE = "paystream:gateway_dlq_share:ratio1m"  # dead-lettered / all
FLINK_BACKPRESSURE = "paystream:flink_backpressured:ratio"  # {job_name}: busiest task, 0-1


class TableKind(StrEnum):
    CLEAN = "clean"  # the rows that passed
    QUARANTINE = "quarantine"  # the rows kept with a reason
    OTHER = "other"  # bookkeeping (redeliveries)


class Pipeline(StrEnum):
    VALIDATION = "validation"  # raw JR events -> bronze tables
    NORMALIZATION = "normalization"  # webhooks -> the unified payments table
    ENRICHMENT = "enrichment"  # scored events -> the enrichment table


# Each pipeline's input topics: they grow while its tables should (the NoData alert and
# the Dagster `no_data` check).
PIPELINE_INPUTS: dict[Pipeline, tuple[str, ...]] = {
    Pipeline.VALIDATION: tuple(t.topic for t in EVENT_TYPES),
    Pipeline.NORMALIZATION: tuple(WEBHOOK_RAW_TOPICS.values()),
    Pipeline.ENRICHMENT: (ENRICHED,),
}
