"""`make demo`: the main job end to end on the local platform (which `make up` started).

Creates the topics, submits the validation job (or finds it running), drives JR load
into the raw topics, then shows from Trino what landed where: per-table counts against
what was ever produced to each topic, and the top quarantine reasons. Everything keeps
running.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from deploy.local.settings import StackSettings
from flink_jobs.submit import default_submitter
from flink_jobs.validation_job import VALIDATION_JOB
from lakehouse.clients import trino_connection
from lakehouse.settings import LakehouseSettings
from streaming.load import high_watermarks, watermark_consumer
from streaming.settings import KafkaSettings
from streaming.topics import ensure_topics
from validation.rules import EVENT_TYPES

LOAD_DURATION = os.environ.get("DEMO_DURATION", "60s")


def say(message: str) -> None:
    print(f"demo: {message}", flush=True)


def landed_counts(lakehouse: LakehouseSettings) -> dict[str, tuple[int, int]]:
    cursor = trino_connection(lakehouse).cursor()
    counts = {}
    for t in EVENT_TYPES:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {t.bronze_table}),"
            f" (SELECT count(*) FROM {t.quarantine_table})"
        )
        bronze, quarantine = cursor.fetchone()
        counts[t.name] = (bronze, quarantine)
    return counts


def top_reasons(lakehouse: LakehouseSettings, limit: int = 8) -> list[tuple[str, str, int]]:
    union = " UNION ALL ".join(
        f"SELECT '{t.quarantine_table}' AS tbl, rejection_reason FROM {t.quarantine_table}"
        for t in EVENT_TYPES
    )
    cursor = trino_connection(lakehouse).cursor()
    cursor.execute(
        f"SELECT tbl, rejection_reason, count(*) FROM ({union}) "
        f"GROUP BY 1, 2 ORDER BY 3 DESC LIMIT {limit}"
    )
    return [tuple(row) for row in cursor.fetchall()]


def produced_counts(bootstrap: str) -> dict[str, int]:
    """Per event type, every message ever produced to its topic (high watermarks)."""
    consumer = watermark_consumer(bootstrap)
    try:
        produced = high_watermarks(consumer, [t.topic for t in EVENT_TYPES])
    finally:
        consumer.close()
    return {t.name: produced[t.topic] for t in EVENT_TYPES}


def wait_until_landed(
    produced: dict[str, int], lakehouse: LakehouseSettings, timeout: float = 60
) -> None:
    """Until every produced message is in a table (a checkpoint or two), or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = landed_counts(lakehouse)
        if all(sum(counts[name]) >= n for name, n in produced.items()):
            return
        time.sleep(2)


def main() -> int:
    stack, lakehouse, kafka = StackSettings(), LakehouseSettings(), KafkaSettings()
    bootstrap = kafka.bootstrap_servers
    say("creating the Kafka topics (make topics)")
    ensure_topics(kafka)
    say("submitting the validation job (make submit)")
    submitter = default_submitter()
    submitter.wait_for_platform()
    submitter.submit(VALIDATION_JOB)

    say(f"driving JR load for {LOAD_DURATION} (make load)")
    load = subprocess.run(
        [sys.executable, "-m", "streaming.load", "--duration", LOAD_DURATION], check=False
    )
    if load.returncode != 0:
        say("error: the load generator failed")
        return 1
    produced = produced_counts(bootstrap)
    wait_until_landed(produced, lakehouse)

    say(f"what landed in lakehouse.{lakehouse.namespace} (from Trino):")
    counts = landed_counts(lakehouse)
    print(f"  {'type':<14} {'produced':>9} {'bronze':>9} {'quarantine':>11} {'missing':>8}")
    for t in EVENT_TYPES:
        bronze, quarantine = counts[t.name]
        print(
            f"  {t.name:<14} {produced[t.name]:>9} {bronze:>9} {quarantine:>11} "
            f"{produced[t.name] - bronze - quarantine:>8}"
        )
    say("top quarantine reasons:")
    for table, reason, count in top_reasons(lakehouse):
        print(f"  {count:>7}  {reason:<26} {table}")
    say("everything keeps running:")
    print(f"  Flink web UI   http://127.0.0.1:{stack.flink_rest_port}")
    print(f"  Trino          http://{lakehouse.trino_host}:{lakehouse.trino_port}  (make trino)")
    print(f"  Temporal UI    http://127.0.0.1:{stack.temporal_ui_port}")
    print("  more load: make load RATE=10 DURATION=5m; stop: make stop-jobs, make down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
