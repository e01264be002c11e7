"""Faults while load runs: a Kafka broker restart and a kill -9 of the JobManager.

After recovery nothing is lost and nothing is doubled, checked by Kafka (partition,
offset) and by event id. The TaskManager kill and stop-with-savepoint are covered by
tests/validation/test_validation_platform.py, whose helpers these tests reuse.

These tests disrupt everything on the shared platform (every job on the cluster restarts
from its latest checkpoint when the JobManager is killed): run them alone.
"""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import Producer

from contracts.events import EVENT_TYPES
from deploy.flink.flink_rest import ACTIVE_STATES
from tests.deploy.faults import (
    kill_hard,
    restart,
    wait_for_jobs_running,
    wait_for_new_pid,
)
from tests.validation.test_validation_platform import (  # noqa: F401  (pytest fixture)
    Pipeline,
    generated_messages,
    pipeline,
    wait_until_reconciled,
)

pytestmark = pytest.mark.integration


class Sender:
    """Background load whose producer rides out a broker restart (idempotent, long timeout).

    Counts only what the broker acknowledged; any message that failed is recorded.
    """

    def __init__(self, p: Pipeline) -> None:
        self.p = p
        self.produced = {t.name: 0 for t in EVENT_TYPES}
        self.failed: list[str] = []
        self.producer = Producer(
            {"bootstrap.servers": p.bootstrap, "enable.idempotence": True, "acks": "all",
             "message.timeout.ms": 300_000, "log_level": 0}
        )  # fmt: skip

    def send(self, start: int, count: int) -> None:
        for topic, payload in generated_messages(self.p, count, start):
            name = next(n for n, t in self.p.topics.items() if t == topic)
            self.producer.produce(
                topic, value=None if payload is None else payload.encode(),
                on_delivery=lambda error, _m, name=name: self._delivered(error, name),
            )  # fmt: skip
            self.producer.poll(0)
        assert self.producer.flush(300) == 0

    def _delivered(self, error, name: str) -> None:
        if error is None:
            self.produced[name] += 1
        else:
            self.failed.append(str(error))

    def in_background(self, batches: int, start: int, pause: float = 1.0) -> threading.Thread:
        def run() -> None:
            for index in range(batches):
                self.send(start + index * 200, 200)
                time.sleep(pause)

        thread = threading.Thread(target=run)
        thread.start()
        return thread


def assert_ids_unique(trino_rows, p: Pipeline, sender: Sender) -> None:
    """By event id: every charge once, in bronze or in quarantine (the generated charges
    have unique ids, and some are invalid: amount 0)."""
    rows = trino_rows(
        f"SELECT count(*), count(DISTINCT charge_id) FROM ("
        f"SELECT charge_id FROM {p.namespace}.payment_charges UNION ALL "
        f"SELECT charge_id FROM {p.namespace}.quarantine_payment_charges)"
    )
    total, distinct = rows[0]
    assert total == distinct == sender.produced["charges"], (total, distinct, sender.produced)


def test_kafka_broker_restart_under_load_loses_and_doubles_nothing(pipeline, trino_rows):  # noqa: F811
    submitted = pipeline.submitter.submit(pipeline.job)
    sender = Sender(pipeline)
    thread = sender.in_background(batches=10, start=0)
    time.sleep(4)
    restart("kafka")
    thread.join()
    assert not sender.failed, sender.failed[:3]
    wait_until_reconciled(trino_rows, pipeline, sender.produced, timeout=420)
    assert_ids_unique(trino_rows, pipeline, sender)
    # The job itself may have restarted from a checkpoint; it must be running again.
    assert pipeline.submitter.flink.job(submitted.job_id).state == "RUNNING"


def test_jobmanager_kill_recovers_every_job_by_itself_and_loses_and_doubles_nothing(
    pipeline,  # noqa: F811
    trino_rows,
    stack_settings,
):
    """Flink's ZooKeeper HA: supervisord starts the killed JobManager again, which finds
    its jobs in ZooKeeper and resumes each from its latest checkpoint, same job id. No
    command is typed, and the submitter then starts no second copy."""
    assert stack_settings.flink_ha, "the platform runs without Flink HA (PAYSTREAM_FLINK_HA)"
    flink = pipeline.submitter.flink
    submitted = pipeline.submitter.submit(pipeline.job)
    sender = Sender(pipeline)
    sender.send(0, 300)
    # A completed checkpoint holds these before the JobManager dies.
    wait_until_reconciled(trino_rows, pipeline, sender.produced, timeout=240)
    checkpointed = flink.checkpoints(submitted.job_id).latest_completed
    assert checkpointed is not None
    # Every job on the cluster must come back, not only this test's.
    running = [job.job_id for job in flink.jobs() if job.state == "RUNNING"]
    assert submitted.job_id in running

    thread = sender.in_background(batches=6, start=10_000)
    time.sleep(3)
    old = kill_hard("flink-jobmanager")[0]
    seconds = wait_for_jobs_running(flink.base_url, running, timeout=60)
    assert wait_for_new_pid("flink-jobmanager", old, timeout=5) != old

    restored = flink.checkpoints(submitted.job_id).restored
    assert restored is not None and not restored.is_savepoint, restored
    assert restored.checkpoint_id >= checkpointed.checkpoint_id, (restored, checkpointed)
    # The submitter recognises the recovered job by its name: no second copy.
    again = pipeline.submitter.submit(pipeline.job)
    assert not again.started and again.job_id == submitted.job_id, again
    copies = flink.jobs_named(pipeline.job.name, ACTIVE_STATES)
    assert [job.job_id for job in copies] == [submitted.job_id], copies

    thread.join()
    sender.send(20_000, 300)
    assert not sender.failed, sender.failed[:3]
    wait_until_reconciled(trino_rows, pipeline, sender.produced, timeout=300)
    assert_ids_unique(trino_rows, pipeline, sender)
    print(f"all {len(running)} jobs running again {seconds:.0f}s after the kill")
