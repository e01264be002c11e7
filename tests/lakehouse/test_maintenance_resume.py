"""Table maintenance between a savepoint and the resume from it: still each message once.

The validation job runs on the test's own topics and namespace, stops with a savepoint
while messages keep coming (so the savepoint's own checkpoint carries files), and more
messages arrive while it is stopped. Then compaction and expiry run with the local 0 s
floor: compaction commits a new current snapshot, so a plain 0 s expiry would forget the
job's last commit, the one its restored committer looks for (lakehouse/flink_commits.py).
The job then resumes from that savepoint; every Kafka message must be in exactly one row.
"""

from __future__ import annotations

import threading
import time

import pytest

from contracts.events import EVENT_TYPES
from deploy.flink.restore import restorable_job_ids
from lakehouse.maintenance import MaintenanceSettings, compact
from tests.validation import test_validation_platform as validation
from tests.validation.test_validation_platform import (
    Pipeline,
    generated_messages,
    produce,
    wait_until_reconciled,
)

pytestmark = pytest.mark.integration

# The validation job's fixture: the job on test topics, cancelled and forgotten afterwards.
pipeline = validation.pipeline


class Load:
    """Charges and refunds into the pipeline's topics, counted per event type."""

    def __init__(self, p: Pipeline) -> None:
        self.pipeline = p
        self.produced = {t.name: 0 for t in EVENT_TYPES}
        self.next_start = 0

    def send(self, count: int) -> None:
        produce(self.pipeline.bootstrap, generated_messages(self.pipeline, count, self.next_start))
        self.next_start += count
        self.produced["charges"] += count
        self.produced["refunds"] += count

    def send_until(self, done: threading.Event) -> None:
        while not done.is_set():
            self.send(20)
            time.sleep(0.1)


def test_resuming_a_savepoint_after_compaction_and_expiry_writes_each_message_once(
    pipeline, trino_rows, lakehouse_settings
):
    p: Pipeline = pipeline
    load = Load(p)
    p.submitter.submit(p.job)
    # Several checkpoints' worth of small commits, so compaction has files to merge.
    for _ in range(4):
        load.send(100)
        time.sleep(2.5)
    wait_until_reconciled(trino_rows, p, load.produced)

    # Stop while messages flow, so the savepoint's own checkpoint has files, which the
    # stop then commits: a committer that misses that commit would take them up again.
    done = threading.Event()
    sender = threading.Thread(target=load.send_until, args=(done,))
    sender.start()
    try:
        time.sleep(4)
        [stopped] = p.submitter.stop(p.job.name)
    finally:
        done.set()
        sender.join()
    load.send(200)  # arrives while no job runs
    job_id = stopped.job_id
    assert job_id[:6] in restorable_job_ids(p.submitter.state_dirs)

    report = compact(
        p.namespace,
        settings=MaintenanceSettings(snapshot_retention="0s"),
        lakehouse=lakehouse_settings,
    )

    assert report.failed == ()
    charges = next(r for r in report.tables if r.table == "payment_charges")
    assert charges.files_before is not None and charges.files_after is not None
    # Compaction committed a new current snapshot, after the job's last commit.
    assert charges.files_after < charges.files_before

    resumed = p.submitter.submit(p.job, restore_from=stopped.savepoint)
    assert resumed.started and resumed.restored_from == stopped.savepoint
    load.send(200)

    # Nothing lost, nothing twice, by Kafka partition and offset, in every table.
    wait_until_reconciled(trino_rows, p, load.produced, timeout=240)
    details = p.submitter.flink.job(resumed.job_id)
    assert details.state == "RUNNING", p.submitter.flink.root_exception(resumed.job_id)
