"""The bridge outlives Temporal: started before the server is up, and through a stop and
restart of it, it keeps running, waits, and hands every batch over once Temporal is back.

Temporal here is a private dev server of this test (free ports, its own SQLite file),
never the shared one. Kafka is the shared broker, with the test's own topics.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.messages import unified_event
from tests.workflows.harness import (
    SideStream,
    TopicReader,
    produce_events,
    side_stream,
    wait_until,
)
from tests.workflows.private_services import PrivateProcess, bootstrap, private_temporal

pytestmark = pytest.mark.integration

# The bridge must stay up through several failed hand-overs while Temporal is down.
OUTAGE_SECONDS = 30


@pytest.fixture
def temporal(tmp_path: Path) -> Iterator[PrivateProcess]:
    server = private_temporal(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stream(tmp_path: Path, temporal: PrivateProcess) -> Iterator[SideStream]:
    # No inference service: every result is a fallback, which is all this test needs.
    yield from side_stream(
        tmp_path,
        WORKFLOWS_TEMPORAL_ADDRESS=bootstrap(temporal),
        WORKFLOWS_BRIDGE_RETRY_SECONDS="0.5",
        WORKFLOWS_BRIDGE_RETRY_MAX_SECONDS="4",
    )


def events(run: str, start: int, count: int) -> list[dict]:
    # One merchant: one partition, so the batches follow each other in offset order.
    return [unified_event(n, run, merchant_id="acct_one") for n in range(start, start + count)]


def test_the_bridge_waits_for_temporal_and_hands_every_batch_over_once_it_is_back(
    stream: SideStream, temporal: PrivateProcess
):
    bridge, worker = stream.bridge(), stream.worker()
    reader = TopicReader(stream.bootstrap, stream.sink_topic)

    # Temporal is not up yet: the bridge waits for it instead of exiting.
    bridge.start()
    wait_until(lambda: "temporal unreachable" in bridge.logs(), 30, 0.2, bridge.logs())
    time.sleep(3)
    bridge.assert_running()

    temporal.start()
    worker.start()
    before = events(stream.suffix, 0, 10)
    produce_events(stream.bootstrap, stream.source_topic, before)
    by_event = reader.read_until({e["event_id"] for e in before}, timeout=120)
    assert set(by_event) == {e["event_id"] for e in before}, bridge.logs() + worker.logs()

    # Temporal goes away while events keep coming: the hand-overs fail, the bridge stays.
    temporal.stop()
    during = events(stream.suffix, 10, 10)
    produce_events(stream.bootstrap, stream.source_topic, during)
    wait_until(lambda: bridge.log_count("bridge failed") >= 2, 90, 0.5, bridge.logs())
    time.sleep(OUTAGE_SECONDS)
    bridge.assert_running()

    temporal.start()
    if worker.process is not None and worker.process.poll() is not None:
        worker.start()  # supervisord restarts a worker that gave up; this test does it here
    after = events(stream.suffix, 20, 10)
    produce_events(stream.bootstrap, stream.source_topic, after)
    wanted = {e["event_id"] for e in before + during + after}
    by_event = reader.read_until(wanted, timeout=180)
    reader.close()
    assert set(by_event) == wanted, bridge.logs() + worker.logs()
    assert all(len(copies) == 1 for copies in by_event.values()), "an event was enriched twice"
    bridge.assert_running()
    assert bridge.starts == 1, "the bridge was restarted"
