"""End-to-end soak: the whole platform at a constant rate, then an exact reconciliation.

    python -m bench.soak [--rate 2000] [--duration 10m] [--jr-rate 200]   (`make soak`)

For `--duration`, signed Stripe and Square webhooks of the simulator's mix (every event
type, redeliveries, bad signatures, dead-lettered and quarantined ones, failed payments)
go at `--rate` per second, open loop, through the platform's own gateway (vegeta, fed
targets signed just in time: bench/vegeta.py), while JR (`loadgen.jr`) produces
`--jr-rate` messages per second in all into the four raw topics. Every few seconds the
consumer lag of each Flink job and of the bridge, and the CPU and RSS of every service
and of the load client are sampled. When the load ends and the pipeline has drained:

- webhooks: the provider events accepted (2xx, bound for a raw topic, a redelivery
  counted once) are exactly the rows of `payments` + `quarantine_payments` in the raw
  topics' offsets the run wrote, and every raw message is one of those rows or one of
  `payment_redeliveries`;
- JR: every offset the run wrote to each raw topic is one row of bronze + quarantine;
- each of the run's `payments` rows has exactly one `payment_enrichments` row, and each
  failed payment a `PaymentRecoveryWorkflow`;
- freshness: from a webhook's 2xx to its row being visible (the commit time of the
  Iceberg snapshot that added the row's data file) in `payments` and `payment_enrichments`.

It needs the platform (`make up`) and its three Flink jobs (`make submit`); it reads the
platform's tables, so other traffic on the shared platform is counted apart ("other
traffic"), never as the run's. The run's JSON and plots go to `.run/bench/<time>/`, its
section to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bench.cli import add_settings_arguments, leave_on_sigterm
from bench.footprint import service_pids
from bench.machine import describe_machine
from bench.plots import line_plot
from bench.reconcile import (
    LagTrend,
    Reconciliation,
    accepted_webhooks,
    lag_trend,
    offset_window,
    reconcile_keys,
    windows,
)
from bench.report import current_figures, render_figures, update_results_md, write_run_file
from bench.results import Result, format_table, percentile, summarise, write_json
from bench.sampling import Group, LagProbe, TreeUsage, mean_cpu_percent, peak_rss_mib, tree_usage
from bench.settings import BenchSettings
from bench.sidestream import RECOVERY_TYPE, executions
from bench.vegeta import AttackSpec, Hit, HitReader, TargetSpec, load_client, read_ledger
from contracts.events import EVENT_TYPES
from contracts.paths import REPO_ROOT
from contracts.tables import ENRICHMENT_TABLE as ENRICHMENTS
from contracts.tables import REDELIVERY_TABLE as REDELIVERIES
from contracts.tables import UNIFIED_QUARANTINE_TABLE as QUARANTINE
from contracts.tables import UNIFIED_TABLE as PAYMENTS
from contracts.topics import RAW_EVENT_TOPICS
from deploy.flink.flink_rest import FlinkRest
from deploy.local.readiness import bridge_ready, gateway_ready, worker_ready
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack
from flink_jobs import enrichment_job, validation_job
from lakehouse.clients import trino_connection
from lakehouse.settings import LakehouseSettings
from loadgen.durations import parse_duration
from loadgen.jr.driver import DEFAULT_RATES, partition_high_watermarks
from loadgen.webhooks.sender import Credentials
from normalization.providers import PROVIDERS
from normalization.settings import JOB_NAME as NORMALIZATION_JOB_NAME
from normalization.settings import NormalizationSettings, flink_duration
from streaming.settings import KafkaSettings
from workflows.ids import recovery_workflow_id
from workflows.settings import WorkflowSettings

NAME = "soak"
PLATFORM_JOBS = (validation_job.JOB_NAME, NORMALIZATION_JOB_NAME, enrichment_job.JOB_NAME)


class SoakSettings(BaseSettings):
    """Sizes of the soak (env BENCH_SOAK_<NAME>, or the flags); the defaults are the
    full-size run of the issue, and the figures' targets."""

    model_config = SettingsConfigDict(env_prefix="BENCH_SOAK_", frozen=True)

    rate: float = Field(default=2000.0, gt=0)  # webhooks per second
    duration: str = "10m"
    jr_rate: float = Field(default=200.0, gt=0)  # JR messages per second, all types
    sample_seconds: float = Field(default=5.0, gt=0)
    max_workers: int = Field(default=512, ge=1)
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    bad_share: float = Field(default=0.05, ge=0, le=1)
    redelivery_share: float = Field(default=0.05, ge=0, le=1)
    seed: int | None = None
    drain_timeout_seconds: float = Field(default=900.0, gt=0)
    # No progress of the enrichments for this long after the lags reached zero: stop waiting.
    drain_stall_seconds: float = Field(default=90.0, gt=0)
    target_rate: float = 2000.0
    target_p99_ms: float = 50.0
    target_payments_fresh_p95_s: float = 5.0
    target_enrichments_fresh_p95_s: float = 15.0

    @property
    def seconds(self) -> float:
        return parse_duration(self.duration)


# -- what the run observes ------------------------------------------------------------------


@dataclass
class Sample:
    at: float  # epoch seconds
    offsets: dict[str, tuple[int, int]]  # group -> (end, committed)
    usage: dict[str, TreeUsage]
    loading: bool


@dataclass
class Observed:
    started: float = 0.0
    load_ended: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    untargeted: int = 0  # vegeta's hits that found no target ready (nothing was sent)
    jr_start: dict[str, dict[int, int]] = field(default_factory=dict)
    jr_end: dict[str, dict[int, int]] = field(default_factory=dict)
    hook_start: dict[str, dict[int, int]] = field(default_factory=dict)
    hook_end: dict[str, dict[int, int]] = field(default_factory=dict)


def groups() -> list[Group]:
    """The platform's consumers: its three Flink jobs and the bridge."""
    workflow = WorkflowSettings()
    return [
        Group(
            validation_job.JOB_NAME,
            validation_job.CONSUMER_GROUP,
            tuple(RAW_EVENT_TOPICS.values()),
        ),
        Group(
            NORMALIZATION_JOB_NAME,
            NormalizationSettings().group_id,
            tuple(provider.topic for provider in PROVIDERS),
        ),
        Group(enrichment_job.JOB_NAME, enrichment_job.CONSUMER_GROUP, (workflow.sink_topic,)),
        Group("bridge", workflow.consumer_group, (workflow.source_topic,)),
    ]


def end_offsets(bootstrap: str, topics: Iterable[str]) -> dict[str, dict[int, int]]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "paystream-soak-offsets",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    try:
        return {topic: partition_high_watermarks(consumer, topic) for topic in topics}
    finally:
        consumer.close()


def not_ready(stack: StackSettings) -> str | None:
    """Why the platform cannot be soaked now, or None."""
    try:
        Credentials()  # type: ignore[call-arg]
    except ValidationError as exc:
        return f"no webhook secrets to sign with ({exc.error_count()} missing): `make up`"
    lakehouse = LakehouseSettings()
    for check in (gateway_ready, worker_ready, bridge_ready):
        try:
            check(stack, lakehouse)
        except Exception as exc:  # NotReady, or a service that cannot even be asked
            return f"{check.__name__.removesuffix('_ready')} is not ready ({exc}): `make up`"
    with FlinkRest(f"http://127.0.0.1:{stack.flink_rest_port}") as flink:
        running = {job.name for job in flink.jobs() if job.state == "RUNNING"}
    missing = [name for name in PLATFORM_JOBS if name not in running]
    if missing:
        return f"Flink job(s) {', '.join(missing)} not running: `make submit`"
    return None


def jr_load(settings: SoakSettings, log: Path) -> subprocess.Popen[bytes]:
    """`loadgen.jr` at `jr_rate` messages per second in all (it scales its defaults)."""
    multiplier = settings.jr_rate / sum(DEFAULT_RATES.values())
    with open(log, "wb") as output:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "loadgen.jr",
                "--rate",
                f"{multiplier:.4f}",
                "--duration",
                f"{settings.seconds:g}s",
            ],
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def lag_text(sample: Sample) -> str:
    return "lag " + ", ".join(
        f"{name} {end - done:,}" for name, (end, done) in sample.offsets.items()
    )


def progress(observed: Observed, sample: Sample, reader_hits: int, ok: int) -> str:
    elapsed = sample.at - observed.started
    return f"  {elapsed:5.0f}s  answered {reader_hits:,} (2xx {ok:,})  {lag_text(sample)}"


def sample_now(probe: LagProbe, pids: dict[str, int], loading: bool) -> Sample:
    return Sample(time.time(), probe.sample(), tree_usage(pids), loading)


def soak_load(
    settings: SoakSettings, out: Path, probe: LagProbe, pids: dict[str, int], observed: Observed
) -> Path:
    """Runs the load, sampling as it goes; returns the ledger of targets."""
    stack = StackSettings()
    run_id = uuid.uuid4().hex[:8]
    count = int(settings.rate * settings.seconds)
    ledger = out / "soak-ledger.csv"
    targets = TargetSpec(
        base_url=f"http://127.0.0.1:{stack.gateway_port}",
        count=count,
        seed=settings.seed if settings.seed is not None else int(time.time()),
        ledger=str(ledger),
        run_id=run_id,
        bad_share=settings.bad_share,
        redelivery_share=settings.redelivery_share,
    )
    attack = AttackSpec(
        settings.rate, settings.seconds, settings.max_workers, settings.request_timeout_seconds
    )
    reader = HitReader(out / "soak-results.jsonl")
    jr = jr_load(settings, out / "soak-jr.log")
    try:
        with load_client(targets, attack, reader.path, out) as client:
            observed.started = time.time()
            pids |= client.pids | {"client: jr": jr.pid}
            observed.samples.append(sample_now(probe, pids, loading=True))
            while client.attack.poll() is None:
                time.sleep(settings.sample_seconds)
                observed.hits += reader.new_hits()
                observed.samples.append(sample_now(probe, pids, loading=True))
                ok = sum(hit.ok for hit in observed.hits)
                print(progress(observed, observed.samples[-1], len(observed.hits), ok), flush=True)
            client.wait(60)
        observed.hits += reader.new_hits()
        observed.untargeted = reader.untargeted
    except BaseException:
        jr.terminate()  # loadgen.jr stops its JR processes on SIGTERM
        jr.wait(60)
        raise
    try:
        jr.wait(settings.seconds + 120)
    except subprocess.TimeoutExpired:
        jr.terminate()
        jr.wait(60)
    observed.load_ended = time.time()
    if jr.returncode != 0:
        raise RuntimeError(f"loadgen.jr exited with {jr.returncode}; see {out}/soak-jr.log")
    return ledger


# -- Trino ----------------------------------------------------------------------------------

Offsets = dict[str, dict[int, int]]  # topic -> partition -> offset


def partition_ranges(start: dict[int, int], end: dict[int, int]) -> str:
    """Rows whose Kafka coordinates lie in [start, end) of some partition of one topic."""
    ranges = [
        f"(kafka_partition = {p} AND kafka_offset >= {start.get(p, 0)} AND kafka_offset < {e})"
        for p, e in sorted(end.items())
        if e > start.get(p, 0)
    ]
    return "(" + " OR ".join(ranges) + ")" if ranges else "FALSE"


def topic_ranges(start: Offsets, end: Offsets) -> str:
    """The same over several topics, for tables that hold rows of more than one."""
    parts = [
        f"(kafka_topic = '{topic}' AND {partition_ranges(start.get(topic, {}), end[topic])})"
        for topic in sorted(end)
    ]
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE"


def visible_files(table: str) -> str:
    """Each live data file of the table and when it became visible: the commit time of
    the snapshot that added it."""
    return (
        f"SELECT e.data_file.file_path AS path, min(s.committed_at) AS visible_at "
        f'FROM "{table}$entries" e JOIN "{table}$snapshots" s ON s.snapshot_id = e.snapshot_id '
        f"WHERE e.status <> 2 GROUP BY 1"
    )


def offsets_sql(tables: Sequence[str], where: str, with_topic: bool) -> str:
    """Per partition: rows of the tables in the window and their distinct offsets."""
    topic = "kafka_topic" if with_topic else "''"
    union = " UNION ALL ".join(
        f"SELECT {topic} AS topic, kafka_partition, kafka_offset FROM {t} WHERE {where}"
        for t in tables
    )
    return (
        "SELECT topic, kafka_partition, count(*), count(DISTINCT kafka_offset) "
        f"FROM ({union}) GROUP BY 1, 2"
    )


def windows_reconciliation(
    rows: Iterable[Sequence[Any]], start: Offsets, end: Offsets, topic: str | None = None
) -> Reconciliation:
    """Offset windows of the run against `offsets_sql` rows (topic, partition, rows,
    distinct); `topic` names the one topic of tables that have no topic column."""
    counted = {(topic or r[0], int(r[1])): (int(r[2]), int(r[3])) for r in rows}
    total = Reconciliation(0, 0, 0)
    for name, partitions in end.items():
        for p, e in partitions.items():
            found, distinct = counted.get((name, p), (0, 0))
            total += offset_window(start.get(name, {}).get(p, 0), e, found, distinct)
    return total


@dataclass
class Landed:
    """The run's rows, read from Trino after the drain."""

    payments: list[tuple[str, str, str, float | None]] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)  # provider:provider_event_id
    raw: Reconciliation = field(default_factory=lambda: Reconciliation(0, 0, 0))
    jr: dict[str, Reconciliation] = field(default_factory=dict)
    enrichments: list[tuple[str, float | None]] = field(default_factory=list)
    recoveries: list[str] = field(default_factory=list)


class Lakehouse:
    def __init__(self, observed: Observed) -> None:
        self.cursor = trino_connection(LakehouseSettings()).cursor()
        self.hooks = topic_ranges(observed.hook_start, observed.hook_end)
        self.observed = observed

    def query(self, sql: str) -> list[Any]:
        self.cursor.execute(sql)
        return list(self.cursor.fetchall())

    def run_payment_ids(self) -> str:
        return f"SELECT event_id FROM {PAYMENTS} WHERE {self.hooks}"

    def coverage(self) -> tuple[int, int]:
        """(the run's payments, those with an enrichment) as of now."""
        payments = self.query(f"SELECT count(*) FROM {PAYMENTS} WHERE {self.hooks}")[0][0]
        enriched = self.query(
            f"SELECT count(DISTINCT event_id) FROM {ENRICHMENTS} "
            f"WHERE event_id IN ({self.run_payment_ids()})"
        )[0][0]
        return int(payments), int(enriched)

    def read(self) -> Landed:
        landed = Landed()
        landed.payments = [
            (f"{r[0]}:{r[1]}", str(r[2]), str(r[3]), r[4])
            for r in self.query(
                "SELECT p.provider, p.provider_event_id, p.event_id, p.event_type, "
                f"to_unixtime(f.visible_at) FROM {PAYMENTS} p "
                f"LEFT JOIN ({visible_files(PAYMENTS)}) f "
                f'ON f.path = p."$path" WHERE {self.hooks}'
            )
        ]
        landed.quarantined = [
            f"{r[0]}:{r[1]}"
            for r in self.query(
                f"SELECT provider, provider_event_id FROM {QUARANTINE} WHERE {self.hooks}"
            )
        ]
        hook_tables = (PAYMENTS, QUARANTINE, REDELIVERIES)
        landed.raw = windows_reconciliation(
            self.query(offsets_sql(hook_tables, self.hooks, with_topic=True)),
            self.observed.hook_start,
            self.observed.hook_end,
        )
        for t in EVENT_TYPES:
            start, end = self.observed.jr_start[t.topic], self.observed.jr_end[t.topic]
            rows = self.query(
                offsets_sql(
                    (t.bronze_table, t.quarantine_table),
                    partition_ranges(start, end),
                    with_topic=False,
                )
            )
            landed.jr[t.name] = windows_reconciliation(
                rows, {t.topic: start}, {t.topic: end}, topic=t.topic
            )
        landed.enrichments = [
            (str(r[0]), r[1])
            for r in self.query(
                f"SELECT en.event_id, to_unixtime(f.visible_at) FROM {ENRICHMENTS} en "
                f"LEFT JOIN ({visible_files(ENRICHMENTS)}) f "
                f'ON f.path = en."$path" WHERE en.event_id IN ({self.run_payment_ids()})'
            )
        ]
        return landed


def drain(
    settings: SoakSettings,
    probe: LagProbe,
    pids: dict[str, int],
    observed: Observed,
    lakehouse: Lakehouse,
) -> None:
    """Samples on until every group has caught up and every payment of the run has its
    enrichment, or nothing (lags, enrichments) has moved for `drain_stall_seconds` (a
    group that stays a few offsets behind for good must not hold the run), or the
    timeout."""
    deadline = time.monotonic() + settings.drain_timeout_seconds
    moved, last = time.monotonic(), None
    while time.monotonic() < deadline:
        sample = sample_now(probe, pids, loading=False)
        observed.samples.append(sample)
        caught_up = all(end == done for end, done in sample.offsets.values())
        payments, enriched = lakehouse.coverage()
        print(f"  drain: {lag_text(sample)}; enriched {enriched:,} of {payments:,}", flush=True)
        state = (sample.offsets, payments, enriched)
        if state != last:
            moved, last = time.monotonic(), state
        if caught_up and enriched >= payments:
            return
        if time.monotonic() - moved > settings.drain_stall_seconds:
            print(f"  drain: nothing moved for {settings.drain_stall_seconds:g}s", flush=True)
            return
        time.sleep(settings.sample_seconds)


def recovery_ids(expected: set[str], timeout: float = 60.0) -> list[str]:
    """The platform's recovery workflows, once every expected one is listed (or timeout:
    Temporal's visibility store lists a workflow shortly after it started)."""
    workflow = WorkflowSettings()
    deadline = time.monotonic() + timeout
    while True:
        listed = [e.workflow_id for e in asyncio.run(executions(workflow, RECOVERY_TYPE))]
        if expected <= set(listed) or time.monotonic() > deadline:
            return listed
        time.sleep(2)


# -- figures --------------------------------------------------------------------------------


def raw_keys(ledger: dict[int, Any]) -> dict[int, str]:
    """Target number -> provider event key, for targets bound for a raw topic."""
    return {
        n: f"{entry.provider}:{entry.provider_event_id}"
        for n, entry in ledger.items()
        if entry.expected_topic == "raw"
    }


def accepted_at(hits: Iterable[Hit], keys: dict[int, str]) -> dict[str, float]:
    """Each accepted provider event's first 2xx (a redelivery's 2xx comes later)."""
    first: dict[str, float] = {}
    for hit in hits:
        if hit.ok and hit.n in keys:
            key = keys[hit.n]
            first[key] = min(first.get(key, hit.answered), hit.answered)
    return first


def freshness(
    landed: Landed, accepted: dict[str, float]
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(accepted time, seconds to visible) of the run's payments, and of their enrichments."""
    by_event = {event_id: key for key, event_id, _, _ in landed.payments}
    payments = [
        (accepted[key], visible - accepted[key])
        for key, _, _, visible in landed.payments
        if key in accepted and visible is not None
    ]
    first_visible: dict[str, float] = {}
    for event_id, visible in landed.enrichments:
        if visible is not None:
            first_visible[event_id] = min(first_visible.get(event_id, visible), visible)
    enrichments = [
        (accepted[by_event[e]], visible - accepted[by_event[e]])
        for e, visible in first_visible.items()
        if by_event.get(e) in accepted
    ]
    return payments, enrichments


def reconciliations(
    landed: Landed, ledger: dict[int, Any], hits: Sequence[Hit]
) -> dict[str, Reconciliation]:
    keys = raw_keys(ledger)
    accepted = accepted_webhooks(((hit.n, hit.ok) for hit in hits), keys)
    found = [key for key, _, _, _ in landed.payments] + landed.quarantined
    run_events = [event_id for _, event_id, _, _ in landed.payments]
    failed = {recovery_workflow_id(e) for _, e, t, _ in landed.payments if t == "payment.failed"}
    result = {
        f"webhooks: accepted = {PAYMENTS} + {QUARANTINE}": reconcile_keys(accepted, found),
        "webhooks: raw messages = payments + quarantine + redeliveries": landed.raw,
    }
    for name, figures in landed.jr.items():
        result[f"JR {name}: produced = bronze + quarantine"] = figures
    result[f"{PAYMENTS} -> one {ENRICHMENTS} row each"] = reconcile_keys(
        run_events, [event_id for event_id, _ in landed.enrichments]
    )
    result["failed payments -> a recovery workflow each"] = reconcile_keys(
        failed, landed.recoveries
    )
    return result


def trends(observed: Observed, checkpoint_seconds: float) -> dict[str, LagTrend]:
    loading = [s for s in observed.samples if s.loading]
    return {
        name: lag_trend(
            [s.at for s in loading],
            [s.offsets[name][0] for s in loading],
            [s.offsets[name][1] for s in loading],
            checkpoint_seconds,
        )
        for name in (loading[0].offsets if loading else {})
    }


def ratio_row(figure: str, value: float, target: float | None, note: str = "") -> dict:
    return {
        "figure": figure,
        "value": value,
        "target": target if target is not None else "",
        "ratio": value / target if target else "",
        "note": note,
    }


def load_rows(settings: SoakSettings, hits: Sequence[Hit], ledger: dict[int, Any]) -> list[dict]:
    sent = sorted(hit.sent for hit in hits)
    span = sent[-1] - sent[0] if len(sent) > 1 else 0.0
    ok = [hit for hit in hits if hit.ok]
    answered = [hit.latency * 1000 for hit in hits if hit.code]
    unexpected = sum(
        1 for hit in hits if hit.n in ledger and hit.code != ledger[hit.n].expected_status
    )
    latency = summarise(answered)
    return [
        ratio_row(
            "webhooks sent/s",
            (len(sent) - 1) / span if span else 0.0,
            settings.target_rate,
            f"asked {settings.rate:g}/s; {len(hits):,} requests",
        ),
        ratio_row("webhooks 2xx/s", len(ok) / span if span else 0.0, settings.target_rate),
        ratio_row("gateway p50 ms", latency["p50"], None),
        ratio_row(
            "gateway p99 ms", latency["p99"], settings.target_p99_ms, f"max {latency['max']:.0f} ms"
        ),
        ratio_row(
            "answers not as expected",
            float(unexpected),
            None,
            "e.g. 503 (Kafka full) or no answer within the timeout",
        ),
    ]


def freshness_rows(settings: SoakSettings, payments: list, enrichments: list) -> list[dict]:
    rows = []
    for label, points, target in (
        (PAYMENTS, payments, settings.target_payments_fresh_p95_s),
        (ENRICHMENTS, enrichments, settings.target_enrichments_fresh_p95_s),
    ):
        stats = summarise([seconds for _, seconds in points])
        rows.append(
            ratio_row(
                f"freshness 2xx -> {label} p95 s",
                stats["p95"],
                target,
                f"p50 {stats['p50']:.2f} s, max {stats['max']:.2f} s, {stats['count']:,} rows",
            )
        )
    return rows


def lag_rows(lag: dict[str, LagTrend]) -> list[dict]:
    return [
        ratio_row(
            f"lag {name}: consumed share of arrivals",
            trend.consumed_share,
            1.0,
            ("GROWING: not sustained" if trend.growing else "level")
            + f"; {trend.lag_slope:+.1f} msg/s on {trend.arrival_rate:.0f} msg/s in, "
            f"last {trend.last_lag:,.0f}",
        )
        for name, trend in lag.items()
    ]


def usage_rows(cpu: dict[str, float], rss: dict[str, float]) -> list[dict]:
    client = sum(v for name, v in cpu.items() if name.startswith("client: vegeta")) + cpu.get(
        "client: targets", 0.0
    )
    rows = [
        ratio_row(
            "CPU gateway % of a core",
            cpu.get("gateway", 0.0),
            None,
            f"peak RSS {rss.get('gateway', 0):,.0f} MiB",
        ),
        ratio_row(
            "CPU load client % of a core",
            client,
            None,
            "vegeta attack + encode + the target signer, beside the gateway's",
        ),
    ]
    rows += [
        ratio_row(f"CPU {name} % of a core", value, None, f"peak RSS {rss.get(name, 0):,.0f} MiB")
        for name, value in sorted(cpu.items())
        if name != "gateway"
    ]
    return rows


def series_plots(
    settings: SoakSettings, observed: Observed, payments: list, enrichments: list, out: Path
) -> list[str]:
    width, t0 = settings.sample_seconds, observed.started
    sent = windows(((hit.sent - t0, 1.0) for hit in observed.hits), width)
    ok = windows(((hit.sent - t0, 1.0) for hit in observed.hits if hit.ok), width)
    latency = windows(
        ((hit.sent - t0, hit.latency * 1000) for hit in observed.hits if hit.code), width
    )
    plots = [
        line_plot(
            out / "soak_rate.png",
            {
                "sent/s": ([t for t, _ in sent], [len(v) / width for _, v in sent]),
                "2xx/s": ([t for t, _ in ok], [len(v) / width for _, v in ok]),
                "asked": ([0.0, settings.seconds], [settings.rate, settings.rate]),
            },
            title="Webhooks per second",
            xlabel="seconds into the run",
            ylabel="requests/s",
        ),
        line_plot(
            out / "soak_latency.png",
            {
                f"p{q}": ([t for t, _ in latency], [percentile(v, q) for _, v in latency])
                for q in (50, 99)
            },
            title="Gateway latency (vegeta)",
            xlabel="seconds into the run",
            ylabel="ms",
            log_y=True,
        ),
        line_plot(
            out / "soak_lag.png",
            {
                name: (
                    [s.at - t0 for s in observed.samples],
                    [float(s.offsets[name][0] - s.offsets[name][1]) for s in observed.samples],
                )
                for name in (observed.samples[0].offsets if observed.samples else {})
            },
            title="Consumer lag (load, then drain)",
            xlabel="seconds into the run",
            ylabel="messages",
        ),
    ]
    fresh = {}
    for label, points in ((PAYMENTS, payments), (ENRICHMENTS, enrichments)):
        binned = windows(((at - t0, seconds) for at, seconds in points), width)
        fresh[f"{label} p95"] = ([t for t, _ in binned], [percentile(v, 95) for _, v in binned])
    plots.append(
        line_plot(
            out / "soak_freshness.png",
            fresh,
            title="2xx -> visible in Trino",
            xlabel="accepted, seconds into the run",
            ylabel="seconds",
        )
    )
    return plots


def summary(
    settings: SoakSettings, lag: dict[str, LagTrend], checks: dict[str, Reconciliation]
) -> str:
    growing = [name for name, trend in lag.items() if trend.growing]
    inexact = [name for name, check in checks.items() if not check.exact]
    text = (
        f"Signed Stripe/Square webhooks (the simulator's mix) at {settings.rate:g}/s open loop "
        f"for {settings.duration} through the platform's gateway (vegeta, max "
        f"{settings.max_workers} workers), plus JR at {settings.jr_rate:g} msg/s into the raw "
        f"topics; sampled every {settings.sample_seconds:g}s. Freshness: the 2xx to the commit "
        "of the Iceberg snapshot that added the row. "
    )
    if growing:
        # The stage that limits: of those falling behind, the one that kept up least.
        limit = min(growing, key=lambda name: lag[name].consumed_share)
        behind = lag[limit]
        text += (
            f"The lag of {', '.join(growing)} grew through the run: "
            f"{settings.rate:g}/s is not sustained. The stage that limits is {limit}: it "
            f"consumed {behind.arrival_rate - behind.lag_slope:,.0f} of the "
            f"{behind.arrival_rate:,.0f} msg/s arriving on its topics "
            f"({behind.consumed_share:.0%}). "
        )
    else:
        text += "No consumer lag grew through the run: the rate was sustained. "
    text += (
        "Reconciliation exact."
        if not inexact
        else f"Reconciliation NOT exact: {'; '.join(inexact)}."
    )
    return text


def analyse(
    settings: SoakSettings,
    observed: Observed,
    ledger: dict[int, Any],
    landed: Landed,
    checkpoint_seconds: float,
    out: Path,
) -> Result:
    checks = reconciliations(landed, ledger, observed.hits)
    payments, enrichments = freshness(landed, accepted_at(observed.hits, raw_keys(ledger)))
    lag = trends(observed, checkpoint_seconds)
    loading = [(s.at, s.usage) for s in observed.samples if s.loading]
    cpu = mean_cpu_percent(loading)
    rss = peak_rss_mib([usage for _, usage in loading])
    failed = sum(1 for _, _, t, _ in landed.payments if t == "payment.failed")
    rows = load_rows(settings, observed.hits, ledger)
    rows.append(
        ratio_row(
            "client hits without a target",
            float(observed.untargeted),
            None,
            "vegeta's reader had no target ready: nothing was sent",
        )
    )
    rows += freshness_rows(settings, payments, enrichments)
    rows += lag_rows(lag)
    rows += [
        ratio_row(name, float(check.found), float(check.expected), check.describe())
        for name, check in checks.items()
    ]
    rows.append(
        ratio_row(
            "failed payments share of payments",
            failed / len(landed.payments) if landed.payments else 0.0,
            None,
        )
    )
    rows += usage_rows(cpu, rss)
    return Result(
        name=NAME,
        measured=True,
        reason=summary(settings, lag, checks),
        rows=rows,
        data={
            "settings": settings.model_dump(mode="json"),
            "reconciliation": {name: asdict(c) | {"exact": c.exact} for name, c in checks.items()},
            "lag": {name: asdict(t) | {"growing": t.growing} for name, t in lag.items()},
            "samples": [
                {
                    "at": s.at,
                    "loading": s.loading,
                    "offsets": s.offsets,
                    "usage": {n: asdict(u) for n, u in s.usage.items()},
                }
                for s in observed.samples
            ],
            "cpu_percent": cpu,
            "peak_rss_mib": rss,
            "freshness_s": {
                PAYMENTS: summarise([v for _, v in payments]),
                ENRICHMENTS: summarise([v for _, v in enrichments]),
            },
            "results_file": str(out / "soak-results.jsonl"),
        },
        plots=series_plots(settings, observed, payments, enrichments, out),
    )


def run(settings: SoakSettings, out: Path) -> Result:
    stack = StackSettings()
    reason = not_ready(stack)
    if reason:
        return Result.not_measured(NAME, reason)
    kafka = KafkaSettings()
    observed = Observed()
    jr_topics = list(RAW_EVENT_TOPICS.values())
    hook_topics = [provider.topic for provider in PROVIDERS]
    observed.jr_start = end_offsets(kafka.bootstrap_servers, jr_topics)
    observed.hook_start = end_offsets(kafka.bootstrap_servers, hook_topics)
    probe = LagProbe(kafka.bootstrap_servers, groups())
    pids = service_pids(Stack(stack, LakehouseSettings()))
    try:
        ledger_path = soak_load(settings, out, probe, pids, observed)
        observed.jr_end = end_offsets(kafka.bootstrap_servers, jr_topics)
        observed.hook_end = end_offsets(kafka.bootstrap_servers, hook_topics)
        lakehouse = Lakehouse(observed)
        print("  load done; draining", flush=True)
        drain(settings, probe, pids, observed, lakehouse)
        landed = lakehouse.read()
    finally:
        probe.close()
    ledger = read_ledger(ledger_path)
    failed = {recovery_workflow_id(e) for _, e, t, _ in landed.payments if t == "payment.failed"}
    landed.recoveries = recovery_ids(failed)
    # Flink's duration syntax (a bare number is milliseconds), not the load's.
    checkpoint = flink_duration(NormalizationSettings().checkpoint_interval).total_seconds()
    return analyse(settings, observed, ledger, landed, checkpoint, out)


# -- entry point ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--no-results-md", action="store_true", help="do not rewrite bench/RESULTS.md"
    )
    add_settings_arguments(parser, SoakSettings)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, leave_on_sigterm)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    overrides = {n: getattr(args, n) for n in SoakSettings.model_fields if getattr(args, n)}
    settings = SoakSettings.model_validate({**SoakSettings().model_dump(), **overrides})
    run_dir = BenchSettings().output_root / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir.mkdir(parents=True, exist_ok=True)
    machine = describe_machine()
    write_json(run_dir / "machine.json", machine)
    write_json(run_dir / "settings.json", settings.model_dump(mode="json"))
    print(
        f"Soak: {settings.rate:g} webhooks/s + JR {settings.jr_rate:g} msg/s for "
        f"{settings.duration} -> {run_dir}",
        flush=True,
    )
    started = time.monotonic()
    result = run(settings, run_dir)
    result.seconds = round(time.monotonic() - started, 1)
    write_json(run_dir / f"{NAME}.json", result.to_json())
    print(f"\n{result.reason}\n" if result.measured else f"\nnot measured: {result.reason}")
    print(format_table(result.rows))
    for plot in result.plots:
        print(f"  plot: {plot}")
    command = shlex.join(["python", "-m", "bench.soak", *argv])
    write_run_file(run_dir, command)
    if not args.no_results_md:
        update_results_md(render_figures([result], machine, run_dir, command, current_figures()))
        print("\nbench/RESULTS.md updated.")
    return 0 if result.measured else 1


if __name__ == "__main__":
    sys.exit(main())
