"""A whole platform faked at its edges, every source answering, for the console's tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.reasons import Reason
from contracts.topics import INGESTION_DLQ, RAW_EVENT_TOPICS, STRIPE_RAW
from flink_jobs.enrichment_job import CONSUMER_GROUP as ENRICHMENT_GROUP
from flink_jobs.enrichment_job import ENRICHMENT_JOB
from flink_jobs.registry import registered_jobs
from flink_jobs.validation_job import CONSUMER_GROUP as VALIDATION_GROUP
from flink_jobs.validation_job import VALIDATION_JOB
from lakehouse.settings import LakehouseSettings
from observability.console import gather
from observability.console.gather import Sources
from observability.console.settings import ConsoleSettings
from observability.series import GROUP_LAG, QUARANTINE_SHARE, TOPIC_RATE, Pipeline
from tests.observability.console.fakes import (
    ACK_MS,
    LONG_PAYLOAD,
    NOW,
    FakeFlink,
    FakePrometheus,
    FakeTrino,
    flink_checkpoints,
    flink_job,
)

CHARGES_TOPIC = next(iter(RAW_EVENT_TOPICS.values()))
BRIDGE_GROUP = "bridge-group"
ADHOC_JOB = "adhoc-job"


@pytest.fixture
def lakehouse() -> LakehouseSettings:
    return LakehouseSettings()


@pytest.fixture
def console_settings(lakehouse: LakehouseSettings) -> ConsoleSettings:
    return ConsoleSettings(refresh_seconds=0, lakehouse=lakehouse)


@pytest.fixture
def groups() -> dict[str, str]:
    return {
        VALIDATION_GROUP: VALIDATION_JOB.name,
        ENRICHMENT_GROUP: ENRICHMENT_JOB.name,
        BRIDGE_GROUP: gather.BRIDGE,
    }


@pytest.fixture
def prometheus() -> FakePrometheus:
    return FakePrometheus(
        instant={
            TOPIC_RATE: [
                ({"topic": CHARGES_TOPIC}, "2.5"),
                ({"topic": STRIPE_RAW}, "0.016666666666666666"),
                ({"topic": INGESTION_DLQ}, "0"),
                ({"topic": "not-a-contract-topic"}, "9"),
            ],
            GROUP_LAG: [({"group": VALIDATION_GROUP}, "120"), ({"group": BRIDGE_GROUP}, "0")],
            QUARANTINE_SHARE: [
                ({"pipeline": Pipeline.VALIDATION.value}, "0.05"),
                ({"pipeline": Pipeline.NORMALIZATION.value}, "NaN"),
            ],
        },
        ranges={
            TOPIC_RATE: [
                ({"topic": CHARGES_TOPIC}, [(NOW - 60, "1"), (NOW - 30, "3"), (NOW, "2")])
            ],
            GROUP_LAG: [({"group": VALIDATION_GROUP}, [(NOW - 60, "100"), (NOW, "120")])],
        },
        alerts=[
            {
                "labels": {"alertname": "QuarantineShareHigh", "pipeline": "validation"},
                "state": "pending",
                "value": "0.3",
            },
            {
                "labels": {"alertname": "ConsumerLagGrowing", "group": VALIDATION_GROUP},
                "state": "firing",
                "value": "6e+04",
            },
        ],
    )


@pytest.fixture
def flink() -> FakeFlink:
    return FakeFlink(
        {
            "/jobs/overview": {
                "jobs": [
                    flink_job("old", VALIDATION_JOB.name, "CANCELED", 1_749_000_000_000),
                    flink_job("v1", VALIDATION_JOB.name, "RUNNING", 1_749_990_000_000),
                    flink_job("e1", ENRICHMENT_JOB.name, "RUNNING", 1_749_980_000_000),
                    flink_job("a1", ADHOC_JOB, "FINISHED", 1_749_970_000_000),
                ]
            },
            "/jobs/v1/checkpoints": flink_checkpoints(ACK_MS, 850, failed=1),
            "/jobs/v1/metrics": [
                {"id": "uptime", "value": "9"},
                {"id": "numRestarts", "value": "2"},
            ],
            "/jobs/a1/checkpoints": flink_checkpoints(ACK_MS - 5_000, 90, failed=0),
            "/jobs/a1/metrics": [],
            # e1: the JobManager answers 404 for both (no checkpoint yet, no metric).
        }
    )


QUARANTINE_COUNTS = {table: 10 * (i + 1) for i, (table, _) in enumerate(gather.quarantine_tables())}
TOP_REASONS = [(Reason.MISSING_CURRENCY.value, 30), (Reason.INVALID_AMOUNT.value, 12)]


def newest_rows() -> list[tuple[object, ...]]:
    tables = [table for table, _ in gather.quarantine_tables()]
    at = datetime.fromtimestamp(NOW - 10, tz=UTC)
    return [
        (tables[0], at, Reason.MISSING_CURRENCY.value, LONG_PAYLOAD[: gather.PAYLOAD_CHARS + 1]),
        (tables[-1], at, None, "not json"),
    ]


@pytest.fixture
def trino(lakehouse: LakehouseSettings) -> FakeTrino:
    tables = [table for table, _ in gather.quarantine_tables()]
    return FakeTrino(
        {
            gather.quarantine_rows_sql(lakehouse, tables): list(QUARANTINE_COUNTS.items()),
            gather.top_reasons_sql(lakehouse, tables): TOP_REASONS,
            gather.newest_quarantined_sql(lakehouse, tables): newest_rows(),
            gather.enrichment_sql(lakehouse): [(100, 7)],
        }
    )


@pytest.fixture
def sources(
    prometheus: FakePrometheus,
    flink: FakeFlink,
    trino: FakeTrino,
    lakehouse: LakehouseSettings,
    groups: dict[str, str],
) -> Sources:
    return Sources(
        prometheus=prometheus.client(),
        flink=flink.client(),
        trino=trino,
        lakehouse=lakehouse,
        groups=groups,
        registered_jobs=list(registered_jobs()),
        quarantine_tables=gather.quarantine_tables(),
    )
