"""The operator's toolbox on the running platform (`make up`; the Flink jobs need not run).

The module arranges what it reads: one signed Stripe webhook through the platform's
gateway (as `make webhooks` sends them) and a consumer group of its own that commits one
offset on that topic (deleted after). No service is restarted."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from contracts.paths import REPO_ROOT
from contracts.topics import NORMALIZED, STRIPE_RAW, TOPIC_NAMES
from deploy.local.readiness import NotReady, kafka_ready
from deploy.local.toolbox import flink_consumer_groups
from loadgen.webhooks import Mix, generate_events, post_events

pytestmark = pytest.mark.integration

# kcat's format in `consume`: "%t[%p]@%o key=%k: %s"
CONSUMED = re.compile(
    r"^(?P<topic>[^\[]+)\[(?P<partition>\d+)\]@(?P<offset>\d+) key=(?P<key>\S*): (?P<value>.*)$"
)


@pytest.fixture(scope="module")
def toolbox(stack_settings, lakehouse_settings):
    try:
        kafka_ready(stack_settings, lakehouse_settings)
    except NotReady as exc:
        pytest.fail(f"Kafka is not running ({exc}): use `make test-integration`")

    def run(*args: str, timeout: float = 60) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "deploy.local.toolbox", *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"toolbox {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    return run


@pytest.fixture(scope="module")
def stripe_event(stack_settings) -> str:
    """One valid Stripe event accepted by the platform's gateway; its provider event id."""
    mix = Mix(bad_share=0, redelivery_share=0, stripe_share=1.0)
    (event,) = generate_events(1, seed=uuid.uuid4().int % 2**32, mix=mix)
    url = f"http://127.0.0.1:{stack_settings.gateway_port}"
    (outcome,) = asyncio.run(post_events([event], url, run_id="it-toolbox"))
    assert outcome.as_expected and event.expected_topic == "raw", outcome
    assert event.provider_event_id is not None
    return event.provider_event_id


@pytest.fixture(scope="module")
def own_group(stack_settings, stripe_event) -> Iterator[tuple[str, int, int]]:
    """A group of the test's own with offset 0 committed on a Stripe partition holding
    data: the lag report must show it exactly. (group, partition, committed offset)"""
    bootstrap = f"127.0.0.1:{stack_settings.kafka_port}"
    group = f"it-toolbox-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        partitions = consumer.list_topics(STRIPE_RAW, timeout=10).topics[STRIPE_RAW].partitions
        partition = next(
            p
            for p in sorted(partitions)
            if consumer.get_watermark_offsets(TopicPartition(STRIPE_RAW, p), timeout=10)[1] > 0
        )
        consumer.commit(offsets=[TopicPartition(STRIPE_RAW, partition, 0)], asynchronous=False)
    finally:
        consumer.close()
    yield group, partition, 0
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the answer
    admin.delete_consumer_groups([group], request_timeout=30)[group].result(timeout=60)


def test_topics_list_shows_every_contract_topic(toolbox) -> None:
    listed = toolbox("topics-list")
    for topic in TOPIC_NAMES:
        assert f'topic "{topic}"' in listed


def test_topics_describe_shows_partitions_and_configs(toolbox) -> None:
    described = toolbox("topics-describe", "--topic", NORMALIZED)
    assert f'topic "{NORMALIZED}"' in described
    assert "partition 0, leader" in described
    assert "retention.ms=" in described


def test_consume_reads_n_messages_with_partition_offset_and_key(toolbox, stripe_event) -> None:
    lines = toolbox("consume", "--topic", STRIPE_RAW, "-n", "1").splitlines()
    # The first message of a partition (from the beginning), maybe older than the fixture's.
    assert len(lines) == 1, lines
    shown = CONSUMED.match(lines[0])
    assert shown is not None, lines[0]
    assert shown["topic"] == STRIPE_RAW and shown["offset"] == "0"
    # The exact body the gateway accepted: a Stripe event, keyed by its account.
    assert json.loads(shown["value"])["id"].startswith("evt_")


def test_lag_shows_a_groups_committed_offset_and_names_the_flink_jobs(toolbox, own_group) -> None:
    lag = toolbox("lag").splitlines()
    assert lag[0].split()[:2] == ["GROUP", "FLINK"]
    # The table, then one line per Flink group without committed offsets.
    notes = [line for line in lag if "no committed offsets" in line]
    table = [line for line in lag if line not in notes]
    group, partition, committed = own_group
    (row,) = [line.split() for line in table if line.split()[:1] == [group]]
    # GROUP, FLINK JOB ("-": not a Flink job's group), TOPIC, PART, COMMITTED, END, LAG
    assert row[1:5] == ["-", STRIPE_RAW, str(partition), str(committed)]
    end, behind = int(row[5]), int(row[6])
    assert end >= 1 and behind == end - committed
    # Each Flink job's group: a row naming its job, or the line saying it has no offsets
    # (jobs not submitted, or no checkpoint yet).
    for flink_group, job in flink_consumer_groups().items():
        rows = [line.split()[:2] for line in table if line.split()[:1] == [flink_group]]
        assert rows == [[flink_group, job]] * len(rows)
        said = f"{flink_group} (Flink job {job}): no committed offsets"
        assert rows or any(note.startswith(said) for note in notes), flink_group


def test_savepoints_names_every_job(toolbox, stack_settings) -> None:
    from flink_jobs.registry import JOBS

    report = toolbox("savepoints")
    assert str(stack_settings.flink_savepoints) in report
    for job in JOBS:
        assert f"{job.name}: " in report


def test_psql_runs_a_query_on_the_catalog_database(toolbox) -> None:
    out = toolbox("psql", "-At", "-c", "select 1")
    assert out.strip() == "1"
