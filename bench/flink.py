"""How fast the validation job drains a backlog, beside a pass-through job (the ceiling).

The topics are pre-filled with a JR-shaped mix (a share invalid, some not JSON). Each job
starts without state at the earliest offsets; its progress is the sum of the offsets its
consumer group commits, which the Kafka source does on every checkpoint, so both jobs
are measured the same way. The validation job's rows in Trino are counted at the end: a
drain that lost or doubled messages would not be a valid measurement.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.messages import prefill
from bench.pipeline import Pipeline, pipeline
from bench.plots import line_plot
from bench.results import Result
from bench.settings import BenchSettings
from contracts.events import EVENT_TYPES
from deploy.flink.policy import Submitter
from lakehouse.clients import trino_connection

CHECKPOINT_INTERVAL = "5s"
# The backlog is produced in large compressed batches, as a busy producer would.
PREFILL_PRODUCER = {"linger.ms": 50, "batch.size": 1_000_000, "compression.type": "lz4"}


@contextmanager
def at_parallelism(submitter: Submitter, parallelism: int | None) -> Iterator[None]:
    """Jobs submitted meanwhile render 'parallelism.default' as `parallelism` (and wait for
    that many free slots); None keeps the submitter's own."""
    before = submitter.job_settings
    if parallelism is not None:
        submitter.job_settings = before.model_copy(update={"parallelism": parallelism})
    try:
        yield
    finally:
        submitter.job_settings = before


def drain(
    p: Pipeline,
    name: str,
    total: int,
    timeout: float,
    passthrough: bool,
    parallelism: int | None = None,
) -> dict:
    """Submits the job (at `parallelism`, else the submitter's) and samples its committed
    offsets until all `total` are done."""
    job = p.passthrough_job(name) if passthrough else p.validation_job(name)
    with at_parallelism(p.submitter, parallelism):
        submitted = p.submit(job)
        job_parallelism = p.submitter.job_settings.parallelism
    started = time.monotonic()
    curve: list[tuple[float, int]] = [(0.0, 0)]
    while curve[-1][1] < total and time.monotonic() - started < timeout:
        time.sleep(1)
        curve.append((time.monotonic() - started, p.committed(name)))
    p.cancel(name)
    done = curve[-1][1]
    # The first commit comes a checkpoint after the start: measure between first and last
    # progress, where the job is busy, and the whole span as well.
    first = next((t for t, n in curve if n > 0), curve[-1][0])
    first_count = next((n for _, n in curve if n > 0), 0)
    busy = curve[-1][0] - first
    return {
        "job_id": submitted.job_id,
        "parallelism": job_parallelism,
        "messages": done,
        "complete": done >= total,
        "seconds": curve[-1][0],
        "events_per_s": done / curve[-1][0] if curve[-1][0] else 0.0,
        "steady_events_per_s": (done - first_count) / busy if busy > 0 else float("nan"),
        "curve": curve,
    }


def curve_series(curve: list[tuple[float, int]]) -> tuple[list[float], list[float]]:
    return [t for t, _ in curve], [float(n) for _, n in curve]


def landed_rows(p: Pipeline) -> int:
    cursor = trino_connection(p.submitter.lakehouse, schema=p.namespace).cursor()
    parts = [f"SELECT count(*) FROM {t.bronze_table}" for t in EVENT_TYPES]
    parts += [f"SELECT count(*) FROM {t.quarantine_table}" for t in EVENT_TYPES]
    cursor.execute("SELECT sum(c) FROM (" + " UNION ALL ".join(parts) + ") AS t(c)")
    return int(cursor.fetchall()[0][0])


def run(settings: BenchSettings, out: Path) -> Result:
    total = settings.flink_messages
    with pipeline(
        "bench-flink",
        partitions=settings.flink_partitions,
        checkpoint_interval=CHECKPOINT_INTERVAL,
        state_dir=out / "flink-state",
    ) as p:
        producer = p.producer(**PREFILL_PRODUCER)
        counts, fill_seconds = prefill(producer, p.topics, total, settings.flink_invalid_share)
        print(f"Pre-filled {total:,} messages in {fill_seconds:.1f}s", flush=True)
        timeout = settings.flink_drain_timeout_seconds
        ceiling = drain(p, f"bench-passthrough-{p.suffix}", total, timeout, passthrough=True)
        print(f"pass-through: {ceiling['events_per_s']:,.0f} events/s", flush=True)
        job = drain(p, f"bench-validation-{p.suffix}", total, timeout, passthrough=False)
        print(f"validation: {job['events_per_s']:,.0f} events/s", flush=True)
        rows = landed_rows(p)
    plot = line_plot(
        out / "flink_drain.png",
        {
            "pass-through (blackhole)": curve_series(ceiling["curve"]),
            "validation job": curve_series(job["curve"]),
        },
        title=f"Draining {total:,} messages (committed offsets)",
        xlabel="seconds since submission",
        ylabel="messages",
    )
    table = [
        {
            "job": label,
            "messages": figures["messages"],
            "complete": figures["complete"],
            "seconds": figures["seconds"],
            "events_per_s": figures["events_per_s"],
            "steady_events_per_s": figures["steady_events_per_s"],
        }
        for label, figures in (("pass-through (ceiling)", ceiling), ("validation", job))
    ]
    return Result(
        name="flink",
        measured=True,
        reason=(
            f"{total:,} messages ({settings.flink_invalid_share:.0%} invalid) over 4 topics of "
            f"{settings.flink_partitions} partitions, pre-filled in {fill_seconds:.1f}s; "
            f"parallelism 1, checkpoints every {CHECKPOINT_INTERVAL}; rate from committed "
            f"offsets, so its resolution is one checkpoint (seconds count from the job "
            f"running). Rows in Iceberg afterwards: "
            f"{rows:,} of {total:,}."
        ),
        rows=table,
        data={"counts": counts, "passthrough": ceiling, "validation": job, "iceberg_rows": rows},
        plots=[plot],
    )
