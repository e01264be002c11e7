"""Prometheus on the running platform: every service is scraped (Flink's processes push),
and a burst of bad data moves the lag and quarantine series and fires the quarantine alert.

The burst goes into a JR raw topic of the platform and is quarantined by the platform's own
validation job. If that job is not running (a fresh platform: `make test` submits no job),
the test starts it as `make submit` does and stops it with a savepoint afterwards, so the
platform is left as it was found (the next `make submit` resumes from that savepoint).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from confluent_kafka import Producer

from contracts.events import EVENT_TYPES
from deploy.flink.submit import default_submitter
from deploy.local import prometheus
from deploy.local.settings import StackSettings
from flink_jobs.validation_job import CONSUMER_GROUP, VALIDATION_JOB
from lakehouse.settings import LakehouseSettings
from observability import series
from observability.prometheus import PrometheusClient
from observability.series import Pipeline
from observability.thresholds import AlertThresholds

pytestmark = pytest.mark.integration

T = TypeVar("T")
BAD_MESSAGES = 300
CHARGES = EVENT_TYPES[0]


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 3) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")


@pytest.fixture(scope="module")
def prom(stack_settings: StackSettings, lakehouse_settings: LakehouseSettings) -> PrometheusClient:
    return PrometheusClient(f"http://127.0.0.1:{stack_settings.prometheus_port}")


def test_every_service_is_scraped_and_flink_pushes(
    prom: PrometheusClient, stack_settings: StackSettings, lakehouse_settings: LakehouseSettings
) -> None:
    expected = set(prometheus.scrape_targets(stack_settings, lakehouse_settings))

    def all_up() -> dict[str, str] | None:
        health = {t.job: t.health for t in prom.targets()}
        return health if set(health) == expected and set(health.values()) == {"up"} else None

    wait_for("every target up", all_up, timeout=90)
    for process in ("flink-jobmanager", "flink-taskmanager"):
        age = prom.value(f'time() - push_time_seconds{{job="{process}"}}')
        assert age is not None and age < 60, f"{process} pushed nothing recently ({age})"
    # The exporter reads both of its sources.
    up = {s.labels["source"]: s.value for s in prom.query(series.EXPORTER_SOURCE_UP)}
    assert up == {"kafka": 1.0, "iceberg": 1.0}


@pytest.fixture
def validation_job() -> Iterator[None]:
    submitter = default_submitter()
    submitted = submitter.submit(VALIDATION_JOB)
    yield
    if submitted.started:
        submitter.stop(VALIDATION_JOB.name)
    submitter.flink.close()


def table_rows(prom: PrometheusClient, table: str) -> float:
    return prom.value(f'{series.TABLE_ROWS}{{table="{table}"}}', default=0.0) or 0.0


def committed(prom: PrometheusClient, group: str, topic: str) -> float:
    query = f'{series.CONSUMER_COMMITTED}{{group="{group}", topic="{topic}"}}'
    return prom.value(query, default=0.0) or 0.0


def test_a_burst_of_bad_data_moves_the_series_and_fires_the_quarantine_alert(
    prom: PrometheusClient, stack_settings: StackSettings, validation_job: None
) -> None:
    table, topic = CHARGES.quarantine_table, CHARGES.topic
    quarantined_before = table_rows(prom, table)
    committed_before = committed(prom, CONSUMER_GROUP, topic)
    end_before = prom.value(f'{series.TOPIC_END_OFFSET}{{topic="{topic}"}}', default=0.0) or 0.0

    producer = Producer({"bootstrap.servers": f"127.0.0.1:{stack_settings.kafka_port}"})
    run = uuid.uuid4().hex[:8]
    for n in range(BAD_MESSAGES):
        producer.produce(topic, value=f'{{"not json {run} {n}'.encode())
    assert producer.flush(30) == 0

    wait_for(
        "the topic's end offset moved",
        lambda: (
            (prom.value(f'{series.TOPIC_END_OFFSET}{{topic="{topic}"}}') or 0)
            >= end_before + BAD_MESSAGES
        ),
        timeout=60,
    )
    wait_for(
        "the bad messages counted in the quarantine table's rows",
        lambda: table_rows(prom, table) >= quarantined_before + BAD_MESSAGES,
        timeout=240,
    )
    wait_for(
        "the validation group's committed offset moved past them",
        lambda: committed(prom, CONSUMER_GROUP, topic) >= committed_before + BAD_MESSAGES,
        timeout=120,
    )
    # A recorded series: it appears at the rule's first evaluation after the group's first
    # commit (a fresh platform's group is minutes old), so wait for it rather than read once.
    lag_query = f'{series.GROUP_LAG}{{group="{CONSUMER_GROUP}"}}'
    wait_for("the group's recorded lag", lambda: prom.value(lag_query) is not None, timeout=90)
    lag = prom.value(lag_query)
    assert lag is not None and lag >= 0

    threshold = AlertThresholds().quarantine_share

    def share_above_threshold() -> float | None:
        # NaN (0/0) until the recording rule has seen the rows grow.
        share = prom.value(f'{series.QUARANTINE_SHARE}{{pipeline="{Pipeline.VALIDATION}"}}')
        return share if share is not None and share > threshold else None

    wait_for("the validation pipeline's quarantine share rose", share_above_threshold, 90)

    def quarantine_alert() -> str | None:
        states = {
            a.state
            for a in prom.alerts()
            if a.name == "QuarantineRateHigh" and a.labels.get("pipeline") == Pipeline.VALIDATION
        }
        return "firing" if "firing" in states else None

    wait_for("QuarantineRateHigh firing for validation", quarantine_alert, timeout=180)
