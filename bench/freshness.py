"""Freshness: from an event's arrival to its row being visible in Trino, on two paths.

- JR: a steady, rate-controlled stream of charges into a validation job copy; a row's
  origin is its Kafka timestamp (the producer's create time, within a few ms of the
  append on this box).
- Webhooks: signed Stripe webhooks at a steady rate to a gateway of the run's own, whose
  topics feed a normalisation job copy; a row's origin is the gateway's 2xx (the gateway
  answers after Kafka acknowledged the append).

Trino is polled for rows it has not shown before; a row's freshness is the poll time at
which it first appeared minus its origin. The poll interval bounds the error from above.
One run per path and checkpoint interval, since Iceberg commits on checkpoints.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.gateway import GATEWAY_APP, PATH, gateway_env, prefixed_topics, serving
from bench.messages import payloads
from bench.openloop import stripe_body
from bench.pipeline import Pipeline, pipeline
from bench.plots import histogram
from bench.results import Result, summarise
from bench.settings import BenchSettings
from contracts.events import CHARGES
from contracts.tables import UNIFIED_TABLE
from contracts.topics import NORMALIZED
from flink_jobs.job import SqlJob
from flink_jobs.normalization_job import normalization_job
from gateway.providers.stripe import sign_stripe
from lakehouse.clients import trino_connection
from normalization.providers import PROVIDERS

TABLE = CHARGES.bronze_table


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


def watch(
    p: Pipeline,
    query: str,
    origin: Callable[[tuple], float | None],
    expected: int,
    deadline: float,
    poll: float,
) -> list[float]:
    """Freshness in seconds of each row, as rows appear in Trino, until all are seen. The
    query's first column identifies a row; `origin` gives its arrival time (None: not
    known yet, look again at the next poll)."""
    cursor = trino_connection(p.submitter.lakehouse, schema=p.namespace).cursor()
    seen: set[object] = set()
    freshness: list[float] = []
    while len(seen) < expected and time.monotonic() < deadline:
        cursor.execute(query)
        rows = cursor.fetchall()
        now = datetime.now(UTC).timestamp()
        for row in rows:
            arrived = origin(tuple(row))
            if row[0] not in seen and arrived is not None:
                seen.add(row[0])
                freshness.append(now - arrived)
        time.sleep(poll)
    return freshness


def steady_webhooks(
    port: int,
    secret: str,
    rate: float,
    seconds: float,
    stop: threading.Event,
    accepted: dict[str, float],
) -> None:
    """Signed Stripe webhooks at `rate` per second; each accepted event's 2xx time goes
    into `accepted` by id as it comes (the watcher reads it meanwhile)."""
    count = int(rate * seconds)
    started = time.monotonic()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        for n in range(count):
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if stop.is_set():
                break
            body = stripe_body(n)
            signed = sign_stripe(body, (secret,), int(time.time()))
            response = client.post(
                PATH, content=body, headers={"Content-Type": "application/json", **signed}
            )
            if response.is_success:
                accepted[json.loads(body)["id"]] = datetime.now(UTC).timestamp()


def jr_path(settings: BenchSettings, interval: str, out: Path) -> dict:
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
            values = watch(
                p,
                # One partition: the offset identifies the row.
                f"SELECT kafka_offset, to_unixtime(kafka_timestamp) FROM {TABLE}",
                lambda row: float(row[1]),
                expected,
                deadline,
                settings.freshness_poll_seconds,
            )
        finally:
            stop.set()
            loader.join()
    return {"sent": sent[0] if sent else 0, "seen": len(values), "freshness_s": values}


def normalization_copy(p: Pipeline, prefix: str, normalized_topic: str) -> SqlJob:
    """The normalisation job on the gateway's prefixed topics and the run's namespace."""
    name = f"bench-normalization-{p.suffix}"
    return normalization_job(
        name,
        "normalisation job on benchmark topics",
        prepare=lambda s: p.ensure_tables(),
        group_id=name,
        source_topics={provider.name: prefix + provider.topic for provider in PROVIDERS},
        normalized_topic=normalized_topic,
        namespace=p.namespace,
    )


def webhook_path(settings: BenchSettings, interval: str, out: Path) -> dict:
    secret = "whsec_" + secrets.token_hex(16)
    prefix = f"bench.{secrets.token_hex(4)}."
    normalized = prefix + NORMALIZED
    # The pipeline is left first: its job is cancelled before the topics it reads go.
    with (
        prefixed_topics(prefix, extra=(normalized,)),
        pipeline(
            "bench-hook", partitions=1, checkpoint_interval=interval, state_dir=out / "hook-state"
        ) as p,
    ):
        p.submit(normalization_copy(p, prefix, normalized))
        env = gateway_env(secret, prefix)
        with serving(GATEWAY_APP, env, 1, out / f"freshness-gateway-{interval}.log") as (port, _):
            stop = threading.Event()
            accepted: dict[str, float] = {}
            loader = threading.Thread(
                target=steady_webhooks,
                args=(port, secret, settings.freshness_rate, settings.freshness_seconds),
                kwargs={"stop": stop, "accepted": accepted},
            )
            loader.start()
            deadline = time.monotonic() + settings.freshness_seconds + 120
            try:
                values = watch(
                    p,
                    f"SELECT provider_event_id FROM {UNIFIED_TABLE}",
                    lambda row: accepted.get(str(row[0])),
                    int(settings.freshness_rate * settings.freshness_seconds),
                    deadline,
                    settings.freshness_poll_seconds,
                )
            finally:
                stop.set()
                loader.join()
    return {"sent": len(accepted), "seen": len(values), "freshness_s": values}


PATHS = {
    f"JR: Kafka append -> {TABLE}": jr_path,
    "webhook: gateway 2xx -> payments": webhook_path,
}


def run(settings: BenchSettings, out: Path) -> Result:
    runs: dict[str, dict] = {}
    for interval in settings.freshness_checkpoint_intervals:
        for path, measure in PATHS.items():
            print(f"  {path}, checkpoint interval {interval}", flush=True)
            runs[f"{path}, checkpoint {interval}"] = measure(settings, interval, out) | {
                "path": path,
                "checkpoint": interval,
            }
    rows = []
    for figures in runs.values():
        stats = summarise(figures["freshness_s"])
        rows.append(
            {
                "path": figures["path"],
                "checkpoint": figures["checkpoint"],
                "sent": figures["sent"],
                "seen": figures["seen"],
                "p50_s": stats["p50"],
                "p95_s": stats["p95"],
                "max_s": stats["max"],
            }
        )
    plot = histogram(
        out / "freshness.png",
        {label: figures["freshness_s"] for label, figures in runs.items()},
        title="Arrival -> visible in Trino",
        xlabel="seconds",
    )
    return Result(
        name="freshness",
        measured=True,
        reason=(
            f"{settings.freshness_rate:g} events/s for {settings.freshness_seconds:g}s per run. "
            "JR: valid charges produced to a validation job copy's topic (origin: the Kafka "
            "create time). Webhook: signed Stripe webhooks to a gateway of the run's own "
            "(one worker process) feeding a normalisation job copy (origin: the client's 2xx). "
            f"Jobs at parallelism 1; Trino polled every {settings.freshness_poll_seconds:g}s "
            "(+ query time: the resolution)."
        ),
        rows=rows,
        data={"runs": runs},
        plots=[plot],
    )
