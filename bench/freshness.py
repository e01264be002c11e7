"""Freshness: from a message's Kafka append to its row being visible in Trino.

A steady, rate-controlled stream of charges goes into a validation job copy; Trino is
polled for rows it has not shown before. A row's freshness is the poll time at which it
first appeared minus its Kafka timestamp (the producer's create time, within a few ms of
the append on this box). The poll interval bounds the error from above. One run per
checkpoint interval, since Iceberg commits on checkpoints.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.messages import payloads
from bench.pipeline import Pipeline, pipeline
from bench.plots import histogram
from bench.results import Result, summarise
from bench.settings import BenchSettings
from lakehouse.clients import trino_connection

TABLE = "payment_charges"


def steady_load(p: Pipeline, rate: float, seconds: float, stop: threading.Event) -> int:
    """Charges at `rate` per second, scheduled by the clock (not after each other)."""
    producer = p.producer(**{"linger.ms": 5})
    count = int(rate * seconds)
    started = time.monotonic()
    sent = 0
    for index, value in enumerate(payloads("charges", count, invalid_share=0.0)):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if stop.is_set():
            break
        producer.produce(p.topics["charges"], value=value)
        producer.poll(0)
        sent = index + 1
    producer.flush(60)
    return sent


def watch(p: Pipeline, expected: int, deadline: float, poll: float) -> list[float]:
    """Freshness in seconds of each row, as rows appear in Trino, until all are seen."""
    cursor = trino_connection(p.submitter.lakehouse, schema=p.namespace).cursor()
    seen: set[tuple[int, int]] = set()
    freshness: list[float] = []
    while len(seen) < expected and time.monotonic() < deadline:
        # Only recent rows: the table is this run's own, so that is all of them.
        cursor.execute(
            f"SELECT kafka_partition, kafka_offset, to_unixtime(kafka_timestamp) FROM {TABLE} "
            f"WHERE ingested_at > current_timestamp - INTERVAL '10' MINUTE"
        )
        rows = cursor.fetchall()
        now = datetime.now(UTC).timestamp()
        for partition, offset, appended in rows:
            if (partition, offset) not in seen:
                seen.add((partition, offset))
                freshness.append(now - float(appended))
        time.sleep(poll)
    return freshness


def measure(settings: BenchSettings, interval: str, out: Path) -> dict:
    with pipeline(
        "bench-fresh", partitions=1, checkpoint_interval=interval, state_dir=out / "fresh-state"
    ) as p:
        p.submit(p.validation_job(f"bench-freshness-{p.suffix}"))
        expected = int(settings.freshness_rate * settings.freshness_seconds)
        stop = threading.Event()
        sent: list[int] = []
        loader = threading.Thread(
            target=lambda: sent.append(
                steady_load(p, settings.freshness_rate, settings.freshness_seconds, stop)
            )
        )
        loader.start()
        deadline = time.monotonic() + settings.freshness_seconds + 120
        try:
            values = watch(p, expected, deadline, settings.freshness_poll_seconds)
        finally:
            stop.set()
            loader.join()
    return {"sent": sent[0] if sent else 0, "seen": len(values), "freshness_s": values}


def run(settings: BenchSettings, out: Path) -> Result:
    runs = {}
    for interval in settings.freshness_checkpoint_intervals:
        print(f"checkpoint interval {interval}", flush=True)
        runs[interval] = measure(settings, interval, out)
    rows = []
    for interval, figures in runs.items():
        stats = summarise(figures["freshness_s"])
        rows.append(
            {
                "checkpoint": interval,
                "sent": figures["sent"],
                "seen": figures["seen"],
                "p50_s": stats["p50"],
                "p95_s": stats["p95"],
                "max_s": stats["max"],
            }
        )
    plot = histogram(
        out / "freshness.png",
        {f"checkpoint {i}": r["freshness_s"] for i, r in runs.items()},
        title="Kafka append -> visible in Trino",
        xlabel="seconds",
    )
    return Result(
        name="freshness",
        measured=True,
        reason=(
            f"Valid charges at {settings.freshness_rate:g}/s for {settings.freshness_seconds:g}s "
            f"into a validation job copy (parallelism 1), Trino polled every "
            f"{settings.freshness_poll_seconds:g}s (+ query time: the resolution). Gateway 2xx -> "
            "row is not measured: it needs the normalisation job."
        ),
        rows=rows,
        data={"runs": runs},
        plots=[plot],
    )
