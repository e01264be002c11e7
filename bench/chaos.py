"""Chaos soak: the soak's load, while the platform's processes are killed -9 in turn.

    python -m bench.chaos [--rate 500] [--duration 20m] [--jr-rate 100] [--plan]   (`make chaos`)

The soak's load (bench/soak.py: signed webhooks through the gateway by vegeta, JR into the
raw topics), with `--hostile-share` of the webhooks hostile (bench/hostile.py). On a
schedule printed up front (evenly spaced over the first `1 - drain_share` of the run),
each service's whole process tree is killed with SIGKILL: the Flink TaskManager, the
JobManager, the Kafka broker, one gateway process, the Temporal worker, the bridge, the
inference service, PostgreSQL, the Temporal dev server and Trino. Nothing here restarts
anything: supervisord restarts what died, Flink's ZooKeeper HA brings the jobs back. A
fault waits for the previous one to have recovered (or for `recovery_timeout_seconds`).

Per fault, measured from the kill (each fault's signals are listed in `FAULTS`):

- ready: supervisord runs the program again (a new pid) and its readiness check passes;
- flowing: every signal of the fault has moved past its value just before the kill:
  `committed <job>` (a Flink job's committed offsets: a checkpoint completed after the
  kill, so its rows are committed to Iceberg again), `committed bridge` (the bridge
  started workflows again), `end enriched` (the worker wrote enrichments to the
  enriched topic again), `gateway 2xx` (a webhook sent after the kill was accepted);
- recovery: the later of the two.

Webhooks answered 5xx or not at all are re-sent after the load, as a provider retries
(same body and provider event id, signed anew, `retry_delays_seconds` apart), and every
answer counts in the reconciliation (an event is accepted once, whatever its tries).
Enrichments with score_source `fallback` and Flink job restarts (`numRestarts`, from
the REST API) are attributed to the fault whose window (its kill to the next kill) they
fall in; a restart before the first fault is blamed on input. At the end: the soak's
exact reconciliation, every hostile webhook's ending, and bench/RESULTS.md sections
`chaos` (one row per fault) and `chaos checks`.

`--plan` prints the schedule and checks the environment, and kills nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, TopicPartition
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bench.cli import add_settings_arguments, leave_on_sigterm
from bench.footprint import children_by_parent, descendants, service_pids
from bench.hostile import HOSTILE_KINDS, Ending, HostileCounts, hostile_accounting, hostile_id
from bench.machine import describe_machine
from bench.reconcile import Reconciliation
from bench.report import current_figures, render_figures, update_results_md, write_run_file
from bench.results import Result, format_table, write_json
from bench.sampling import LagProbe
from bench.settings import BenchSettings
from bench.soak import (
    PLATFORM_JOBS,
    Lakehouse,
    Landed,
    Observed,
    Sample,
    SoakSettings,
    drain,
    end_offsets,
    groups,
    jr_load,
    not_ready,
    ratio_row,
    reconciliations,
    recovery_ids,
    sample_now,
)
from bench.vegeta import (
    AttackSpec,
    Hit,
    HitReader,
    LedgerEntry,
    TargetSpec,
    load_client,
    read_ledger,
    request_id,
    target,
    target_events,
    vegeta_bin,
)
from contracts.tables import ENRICHMENT_TABLE as ENRICHMENTS
from contracts.tables import UNIFIED_QUARANTINE_TABLE as QUARANTINE
from contracts.topics import INGESTION_DLQ, RAW_EVENT_TOPICS
from deploy.flink.flink_rest import FlinkRest, FlinkRestError
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack
from flink_jobs import enrichment_job, validation_job
from lakehouse.settings import LakehouseSettings
from loadgen.durations import parse_duration
from loadgen.webhooks.sender import Credentials
from normalization.providers import PROVIDERS
from normalization.settings import JOB_NAME as NORMALIZATION_JOB_NAME
from streaming.settings import KafkaSettings
from workflows.ids import recovery_workflow_id
from workflows.scoring import FALLBACK

NAME = "chaos"
CHECKS_NAME = "chaos checks"
FLINK_JOB_GROUPS = (validation_job.JOB_NAME, NORMALIZATION_JOB_NAME, enrichment_job.JOB_NAME)
BRIDGE_GROUP = "bridge"
GATEWAY_SIGNAL = "gateway 2xx"
ENRICHED_SIGNAL = "end enriched"


def committed(group: str) -> str:
    return f"committed {group}"


FLINK_SIGNALS = tuple(committed(job) for job in FLINK_JOB_GROUPS)


@dataclass(frozen=True)
class Fault:
    name: str  # as the row says it
    program: str  # the supervisord program killed
    signals: tuple[str, ...]  # what must move again for data to flow
    one_process: bool = False  # kill one process of the program's tree, not all of it


FAULTS: tuple[Fault, ...] = (
    Fault("Flink TaskManager", "flink-taskmanager", FLINK_SIGNALS),
    Fault("Flink JobManager (HA)", "flink-jobmanager", FLINK_SIGNALS),
    Fault(
        "Kafka broker",
        "kafka",
        (GATEWAY_SIGNAL, *FLINK_SIGNALS, committed(BRIDGE_GROUP), ENRICHED_SIGNAL),
    ),
    Fault("one gateway process", "gateway", (GATEWAY_SIGNAL,), one_process=True),
    Fault("Temporal worker", "worker", (ENRICHED_SIGNAL,)),
    Fault("bridge", "bridge", (committed(BRIDGE_GROUP),)),
    Fault("inference service", "inference", (ENRICHED_SIGNAL,)),
    Fault("PostgreSQL (catalog, claims)", "postgres", (*FLINK_SIGNALS, ENRICHED_SIGNAL)),
    Fault("Temporal dev server", "temporal", (committed(BRIDGE_GROUP), ENRICHED_SIGNAL)),
    Fault("Trino", "trino", ()),  # on no write path: ready is recovered
)


class ChaosSettings(BaseSettings):
    """Sizes of the chaos soak (env BENCH_CHAOS_<NAME>, or the flags)."""

    model_config = SettingsConfigDict(env_prefix="BENCH_CHAOS_", frozen=True)

    rate: float = Field(default=500.0, gt=0)  # webhooks per second
    duration: str = "20m"
    jr_rate: float = Field(default=100.0, gt=0)
    hostile_share: float = Field(default=0.02, ge=0, le=1)
    # The end of the run without faults, so the last one's recovery is seen under load.
    drain_share: float = Field(default=0.15, ge=0, lt=1)
    # A fault not recovered after this long is reported as such; the next one goes on.
    recovery_timeout_seconds: float = Field(default=240.0, gt=0)
    settle_seconds: float = Field(default=10.0, ge=0)
    sample_seconds: float = Field(default=2.0, gt=0)
    tick_seconds: float = Field(default=1.0, gt=0)
    max_workers: int = Field(default=512, ge=1)
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    bad_share: float = Field(default=0.05, ge=0, le=1)
    redelivery_share: float = Field(default=0.05, ge=0, le=1)
    seed: int | None = None
    # A provider's retries of what failed: after these delays, from the end of the load.
    retry_delays_seconds: list[float] = Field(default=[5.0, 30.0, 120.0])
    retry_concurrency: int = Field(default=32, ge=1)
    drain_timeout_seconds: float = Field(default=900.0, gt=0)
    drain_stall_seconds: float = Field(default=90.0, gt=0)

    @property
    def seconds(self) -> float:
        return parse_duration(self.duration)

    def soak(self) -> SoakSettings:
        """The soak's settings these share (its load, drain and reconciliation)."""
        shared = {
            name: getattr(self, name) for name in SoakSettings.model_fields if hasattr(self, name)
        }
        return SoakSettings.model_validate(shared)


# -- the schedule -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    at: float  # seconds into the run
    fault: Fault


def schedule(faults: Sequence[Fault], seconds: float, drain_share: float) -> list[Planned]:
    """Each fault in the middle of its equal slot of the run before the drain."""
    span = seconds * (1 - drain_share)
    slot = span / len(faults)
    return [Planned(round(slot * (i + 0.5), 1), fault) for i, fault in enumerate(faults)]


def plan_problems(plan: Sequence[Planned], seconds: float, settings: ChaosSettings) -> list[str]:
    """Why the schedule cannot show each recovery apart (faults too close, no drain)."""
    problems = []
    gaps = [b.at - a.at for a, b in itertools.pairwise(plan)]
    if gaps and min(gaps) < 30:
        problems.append(
            f"faults only {min(gaps):.0f}s apart: a recovery takes up to a minute "
            f"(a longer --duration, {30 * len(plan) / (1 - settings.drain_share):.0f}s at least)"
        )
    if plan and seconds - plan[-1].at < 60:
        problems.append(
            f"only {seconds - plan[-1].at:.0f}s after the last fault: raise drain_share"
        )
    return problems


def schedule_text(plan: Sequence[Planned]) -> str:
    lines = ["  at (s)  fault                          program             must move again"]
    for p in plan:
        signals = ", ".join(p.fault.signals) or "(ready only)"
        lines.append(f"  {p.at:6.0f}  {p.fault.name:<30} {p.fault.program:<19} ready; {signals}")
    return "\n".join(lines)


# -- killing ------------------------------------------------------------------------------------


def victims(pid: int, tree: Mapping[int, list[int]], one_process: bool) -> list[int]:
    """The processes to kill: the program's whole tree (a wrapper script's JVM with it),
    parent first; or, for one process of a program with workers, one worker."""
    members = descendants(pid, dict(tree))
    if one_process:
        workers = [p for p in members if p != pid]
        return [workers[0]] if workers else [pid]
    return members


def kill(pids: Iterable[int]) -> list[int]:
    killed = []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except ProcessLookupError:
            continue
    return killed


# -- recovery arithmetic ------------------------------------------------------------------------


def signal_values(offsets: Mapping[str, tuple[int, int]]) -> dict[str, int]:
    """The offsets signals of one sample: committed offsets per group, the enriched end."""
    values = {committed(name): done for name, (_, done) in offsets.items()}
    if enrichment_job.JOB_NAME in offsets:
        values[ENRICHED_SIGNAL] = offsets[enrichment_job.JOB_NAME][0]
    return values


def first_advance(since: float, baseline: int, series: Iterable[tuple[float, int]]) -> float | None:
    """The first time at or after `since` the value is past `baseline`, or None."""
    for at, value in series:
        if at >= since and value > baseline:
            return at
    return None


def first_accepted(since: float, hits: Iterable[Hit]) -> float | None:
    """When the first webhook sent after `since` was accepted (2xx), or None."""
    answered = [hit.answered for hit in hits if hit.sent >= since and hit.ok]
    return min(answered) if answered else None


@dataclass
class FaultRun:
    planned: Planned
    killed_at: float = 0.0  # epoch seconds; 0: not killed
    pids: list[int] = field(default_factory=list)
    old_pid: int = 0
    baseline: dict[str, int] = field(default_factory=dict)
    ready_at: float | None = None
    flowing_at: dict[str, float | None] = field(default_factory=dict)
    error: str = ""

    @property
    def fault(self) -> Fault:
        return self.planned.fault

    def flowing(self) -> float | None:
        """When the last signal moved again (the kill itself if there is none)."""
        times = [self.flowing_at.get(s) for s in self.fault.signals]
        if any(t is None for t in times):
            return None
        return max([self.killed_at, *(t for t in times if t is not None)])

    def recovered_at(self) -> float | None:
        flowing = self.flowing()
        if self.ready_at is None or flowing is None:
            return None
        return max(self.ready_at, flowing)


def update_flowing(run: FaultRun, samples: Sequence[Sample], hits: Sequence[Hit]) -> None:
    """Fills in each signal's first move past its baseline, from the samples and hits."""
    for name in run.fault.signals:
        if run.flowing_at.get(name) is not None:
            continue
        if name == GATEWAY_SIGNAL:
            run.flowing_at[name] = first_accepted(run.killed_at, hits)
            continue
        series = [
            (s.at, signal_values(s.offsets)[name])
            for s in samples
            if name in signal_values(s.offsets)
        ]
        baseline = run.baseline.get(name)
        run.flowing_at[name] = (
            None if baseline is None else first_advance(run.killed_at, baseline, series)
        )


def fault_windows(runs: Sequence[FaultRun], end: float) -> list[tuple[float, float]]:
    """Each fault's window: its kill to the next kill (the last one's: to `end`)."""
    kills = [r.killed_at for r in runs if r.killed_at]
    return [(a, b) for a, b in zip(kills, [*kills[1:], end], strict=True)]


def window_of(at: float, windows: Sequence[tuple[float, float]]) -> int | None:
    """The index of the window `at` falls in; None before the first (or after the last)."""
    for index, (start, end) in enumerate(windows):
        if start <= at < end:
            return index
    return None


# -- Flink restarts ---------------------------------------------------------------------------


def restart_times(series: Sequence[tuple[float, int]]) -> list[float]:
    """When a job restarted, from samples (time, numRestarts) of its REST metric: each
    rise counts that many restarts; a fall is a new JobManager counting from 0 again
    (the JobManager's recovery of the job is no restart), so its value counts anew."""
    times: list[float] = []
    last: int | None = None
    for at, value in series:
        rise = value if last is None or value < last else value - last
        if last is not None:
            times += [at] * rise
        last = value
    return times


@dataclass(frozen=True)
class RestartBlame:
    by_fault: dict[int, int]  # fault index -> restarts in its window
    unattributed: int  # restarts outside every fault's window: input is suspected


def blame_restarts(times: Iterable[float], windows: Sequence[tuple[float, float]]) -> RestartBlame:
    by_fault: dict[int, int] = {}
    unattributed = 0
    for at in times:
        index = window_of(at, windows)
        if index is None:
            unattributed += 1
        else:
            by_fault[index] = by_fault.get(index, 0) + 1
    return RestartBlame(by_fault, unattributed)


def num_restarts(rest_url: str) -> dict[str, int]:
    """numRestarts of each running platform job, by job name; {} when Flink does not answer."""
    try:
        with FlinkRest(rest_url, timeout=3) as flink:
            jobs = {j.name: j.job_id for j in flink.jobs() if j.name in PLATFORM_JOBS and j.active}
        values = {}
        for name, job_id in jobs.items():
            answer = httpx.get(f"{rest_url}/jobs/{job_id}/metrics?get=numRestarts", timeout=3)
            metrics = {m["id"]: m["value"] for m in answer.json()}
            if "numRestarts" in metrics:
                values[name] = int(float(metrics["numRestarts"]))
        return values
    except (FlinkRestError, httpx.HTTPError, OSError, ValueError, KeyError):
        return {}


def recent_exceptions(rest_url: str) -> dict[str, list[dict[str, Any]]]:
    """The exception history of each platform job (Flink keeps it per JobManager)."""
    history: dict[str, list[dict[str, Any]]] = {}
    try:
        with FlinkRest(rest_url, timeout=5) as flink:
            jobs = {j.name: j.job_id for j in flink.jobs() if j.name in PLATFORM_JOBS}
        for name, job_id in jobs.items():
            body = httpx.get(f"{rest_url}/jobs/{job_id}/exceptions?maxExceptions=50", timeout=5)
            entries = body.json().get("exceptionHistory", {}).get("entries", [])
            history[name] = [
                {
                    "at": entry.get("timestamp", 0) / 1000,
                    "exception": entry.get("exceptionName", ""),
                    "where": entry.get("taskName") or "",
                }
                for entry in entries
            ]
    except (FlinkRestError, httpx.HTTPError, OSError, ValueError):
        pass
    return history


# -- retries ----------------------------------------------------------------------------------


def final_codes(hits: Iterable[Hit]) -> dict[int, int]:
    """Each target's final answer over all its tries: a 2xx if any, else a 4xx (a
    provider stops on it), else the last 5xx or no answer (0)."""
    best: dict[int, int] = {}
    for hit in sorted(hits, key=lambda h: h.sent):
        now = best.get(hit.n)
        if now is not None and (200 <= now < 300 or (400 <= now < 500 and not hit.ok)):
            continue
        best[hit.n] = hit.code
    return best


def needs_retry(code: int) -> bool:
    """What a provider retries: a 5xx or no answer at all."""
    return code == 0 or code >= 500


def to_retry(hits: Iterable[Hit]) -> list[int]:
    return sorted(n for n, code in final_codes(hits).items() if needs_retry(code))


@dataclass(frozen=True)
class RetryFigures:
    failed: int  # targets whose first tries all failed (5xx, no answer)
    accepted: int  # of those, accepted on a retry
    refused: int  # answered 4xx on a retry
    still_failing: int  # no final answer after every retry


def retry_figures(first: Iterable[Hit], retries: Iterable[Hit]) -> RetryFigures:
    failed = set(to_retry(first))
    retries = [hit for hit in retries if hit.n in failed]
    final = final_codes([hit for hit in first if hit.n in failed] + retries)
    accepted = sum(1 for n in failed if 200 <= final[n] < 300)
    refused = sum(1 for n in failed if 400 <= final[n] < 500)
    return RetryFigures(len(failed), accepted, refused, len(failed) - accepted - refused)


def rebuild_targets(spec: TargetSpec, wanted: set[int]) -> dict[int, Any]:
    """The events of the wanted targets, drawn again (the stream is a function of spec)."""
    found = {}
    for n, event in enumerate(target_events(spec)):
        if n in wanted:
            found[n] = event
            if len(found) == len(wanted):
                break
    return found


async def send_again(
    spec: TargetSpec, events: Mapping[int, Any], credentials: Credentials, concurrency: int
) -> list[Hit]:
    """One round of retries: each target re-signed now, same body and event id."""
    limit = asyncio.Semaphore(concurrency)

    async def one(client: httpx.AsyncClient, n: int) -> Hit:
        request = target(n, events[n], spec, credentials)
        async with limit:
            sent = time.time()
            try:
                answer = await client.post(
                    request["url"],
                    content=base64.b64decode(request["body"]),
                    headers={k: v[0] for k, v in request["header"].items()},
                )
                code, error = answer.status_code, ""
            except httpx.HTTPError as exc:
                code, error = 0, type(exc).__name__
        return Hit(n, code, sent, time.time() - sent, error)

    async with httpx.AsyncClient(timeout=10.0) as client:
        return list(await asyncio.gather(*(one(client, n) for n in sorted(events))))


def provider_retries(spec: TargetSpec, hits: list[Hit], settings: ChaosSettings) -> list[Hit]:
    """Re-sends what failed, round after round (`retry_delays_seconds`), as a provider's
    retry schedule would; returns the retries' hits."""
    credentials = Credentials()  # type: ignore[call-arg]
    retries: list[Hit] = []
    started = time.monotonic()
    for delay in settings.retry_delays_seconds:
        wanted = set(to_retry(hits + retries))
        if not wanted:
            break
        time.sleep(max(0.0, started + delay - time.monotonic()))
        events = rebuild_targets(spec, wanted)
        print(f"  retry after {delay:g}s: {len(events):,} webhooks again", flush=True)
        retries += asyncio.run(send_again(spec, events, credentials, settings.retry_concurrency))
    return retries


# -- the run -----------------------------------------------------------------------------------


@dataclass
class ChaosObserved:
    soak: Observed = field(default_factory=Observed)
    runs: list[FaultRun] = field(default_factory=list)
    restarts: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    retries: list[Hit] = field(default_factory=list)
    dlq_start: dict[str, dict[int, int]] = field(default_factory=dict)
    dlq_end: dict[str, dict[int, int]] = field(default_factory=dict)
    exceptions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    jr_returncode: int | None = None


class Sampler(threading.Thread):
    """Samples offsets, usage and Flink's restart counts in the background, so a dead
    broker or JobManager (each call waits out its timeout) never stalls the faults'
    clock; a sample that cannot be taken is skipped."""

    def __init__(
        self, probe: LagProbe, pids: dict[str, int], observed: ChaosObserved, every: float
    ) -> None:
        super().__init__(daemon=True)
        self.probe, self.pids, self.observed, self.every = probe, pids, observed, every
        self.loading = True
        self.stop = threading.Event()
        self.wanted = threading.Event()
        self.taken = 0
        self.rest_url = f"http://127.0.0.1:{StackSettings().flink_rest_port}"

    def run(self) -> None:
        while not self.stop.is_set():
            # Kafka down: no sample this time, the next one will do.
            with contextlib.suppress(Exception):
                self.observed.soak.samples.append(sample_now(self.probe, self.pids, self.loading))
            at = time.time()
            # A dead JobManager answers nothing: num_restarts gives {} then.
            with contextlib.suppress(Exception):
                for job, value in num_restarts(self.rest_url).items():
                    self.observed.restarts.setdefault(job, []).append((at, value))
            self.taken += 1
            self.wanted.wait(self.every)
            self.wanted.clear()

    def fresh(self, timeout: float = 30.0) -> Sample | None:
        """A sample taken from now on (before a kill: the baseline)."""
        taken, count = self.taken, len(self.observed.soak.samples)
        self.wanted.set()
        deadline = time.monotonic() + timeout
        while self.taken == taken and time.monotonic() < deadline:
            time.sleep(0.05)
        samples = self.observed.soak.samples
        return samples[-1] if len(samples) > count else None


class Chaos:
    """Kills the faults in turn, each once the previous one has recovered, and watches."""

    def __init__(self, stack: Stack, plan: Sequence[Planned], settings: ChaosSettings) -> None:
        self.stack, self.settings = stack, settings
        self.runs = [FaultRun(p) for p in plan]
        self.current = 0
        self.done_at = 0.0  # when the previous fault recovered or was given up on

    def finish(self) -> None:
        self.current += 1
        self.done_at = time.time()

    def program_pid(self, program: str) -> int:
        output = self.stack.supervisorctl("pid", program, check=False).stdout.strip()
        return int(output) if output.isdigit() else 0

    def ready(self, run: FaultRun) -> bool:
        pid = self.program_pid(run.fault.program)
        if pid <= 0 or (pid == run.old_pid and not run.fault.one_process):
            return False
        try:
            self.stack.service(run.fault.program).ready(self.stack.settings, self.stack.lakehouse)
        except Exception:  # NotReady, or a service that cannot even be asked yet
            return False
        return True

    def kill_next(self, run: FaultRun, sampler: Sampler) -> None:
        samples = sampler.observed.soak.samples
        baseline = sampler.fresh() or (samples[-1] if samples else None)
        run.baseline = signal_values(baseline.offsets) if baseline else {}
        run.old_pid = self.program_pid(run.fault.program)
        if run.old_pid <= 0:
            run.error = f"{run.fault.program} was not running"
            return
        run.pids = kill(victims(run.old_pid, children_by_parent(), run.fault.one_process))
        run.killed_at = time.time()
        print(f"  KILL -9 {run.fault.name}: pids {run.pids}", flush=True)

    def step(self, started: float, sampler: Sampler, observed: ChaosObserved) -> None:
        """Called every tick while the load runs."""
        if self.current >= len(self.runs):
            return
        run = self.runs[self.current]
        now = time.time()
        if not run.killed_at and not run.error:
            settled = now >= self.done_at + self.settings.settle_seconds
            if now - started >= run.planned.at and settled:
                self.kill_next(run, sampler)
            return
        if run.error:
            self.finish()
            return
        if run.ready_at is None and self.ready(run):
            run.ready_at = time.time()
        update_flowing(run, observed.soak.samples, observed.soak.hits)
        recovered = run.recovered_at()
        if recovered is not None:
            print(f"  {run.fault.name}: recovered in {recovered - run.killed_at:.1f}s", flush=True)
            sampler.pids.update(service_pids(self.stack))
            self.finish()
        elif now - run.killed_at > self.settings.recovery_timeout_seconds:
            run.error = f"not recovered within {self.settings.recovery_timeout_seconds:g}s"
            print(f"  {run.fault.name}: {run.error}", flush=True)
            self.finish()


def targets_spec(settings: ChaosSettings, out: Path) -> TargetSpec:
    stack = StackSettings()
    return TargetSpec(
        base_url=f"http://127.0.0.1:{stack.gateway_port}",
        count=int(settings.rate * settings.seconds),
        seed=settings.seed if settings.seed is not None else int(time.time()),
        ledger=str(out / "chaos-ledger.csv"),
        run_id=uuid.uuid4().hex[:8],
        bad_share=settings.bad_share,
        redelivery_share=settings.redelivery_share,
        start=int(time.time()),
        hostile_share=settings.hostile_share,
    )


def chaos_load(
    settings: ChaosSettings,
    spec: TargetSpec,
    out: Path,
    chaos: Chaos,
    sampler: Sampler,
    observed: ChaosObserved,
) -> None:
    """The soak's load (vegeta + JR) with the faults on their schedule."""
    soak = observed.soak
    attack = AttackSpec(
        settings.rate, settings.seconds, settings.max_workers, settings.request_timeout_seconds
    )
    reader = HitReader(out / "chaos-results.jsonl")
    jr = jr_load(settings.soak(), out / "chaos-jr.log")
    try:
        with load_client(spec, attack, reader.path, out) as client:
            soak.started = time.time()
            sampler.pids.update(client.pids | {"client: jr": jr.pid})
            sampler.start()
            last_print = 0.0
            while client.attack.poll() is None:
                time.sleep(settings.tick_seconds)
                soak.hits += reader.new_hits()
                chaos.step(soak.started, sampler, observed)
                if time.time() - last_print >= 10:
                    last_print = time.time()
                    ok = sum(hit.ok for hit in soak.hits)
                    elapsed = time.time() - soak.started
                    print(
                        f"  {elapsed:5.0f}s  answered {len(soak.hits):,} (2xx {ok:,})", flush=True
                    )
            client.wait(60)
        soak.hits += reader.new_hits()
        soak.untargeted = reader.untargeted
    except BaseException:
        jr.terminate()  # loadgen.jr stops its JR processes on SIGTERM
        jr.wait(120)
        raise
    # JR started a moment before vegeta: it finishes its own duration and flushes.
    try:
        jr.wait(120)
    except subprocess.TimeoutExpired:
        jr.terminate()
        jr.wait(120)
    observed.jr_returncode = jr.returncode
    soak.load_ended = time.time()
    # The last fault's recovery may come after the load: it is watched on, then retried.
    deadline = time.time() + settings.recovery_timeout_seconds
    while chaos.current < len(chaos.runs) and time.time() < deadline:
        time.sleep(settings.tick_seconds)
        if chaos.runs[chaos.current].killed_at or chaos.runs[chaos.current].error:
            chaos.step(soak.started, sampler, observed)
        else:
            chaos.runs[chaos.current].error = "the load ended before its turn"
    sampler.loading = False


def text(value: str | bytes | None) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value or ""


def dlq_records(bootstrap: str, start: dict[int, int], end: dict[int, int]) -> dict[str, str]:
    """The DLQ's records in [start, end) per partition: request id (key) -> reason header."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "paystream-chaos-dlq",
            "enable.auto.commit": False,
            "log_level": 0,
            "fetch.message.max.bytes": 4 * 1024 * 1024,
        }
    )
    records: dict[str, str] = {}
    try:
        pending = {p: e for p, e in end.items() if e > start.get(p, 0)}
        consumer.assign([TopicPartition(INGESTION_DLQ, p, start.get(p, 0)) for p in pending])
        deadline = time.monotonic() + 120
        while pending and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            headers = dict(message.headers() or [])
            records[text(message.key())] = text(headers.get("reason"))
            partition, offset = message.partition(), message.offset()
            if (
                partition is not None
                and offset is not None
                and offset + 1 >= pending.get(partition, 0)
            ):
                pending.pop(partition, None)
    finally:
        consumer.close()
    return records


def hostile_endings(
    ledger: Mapping[int, LedgerEntry], codes: Mapping[int, int], run_id: str
) -> list[Ending]:
    return [
        Ending(
            entry.kind,
            f"{entry.provider}:{entry.provider_event_id}",
            request_id(run_id, n),
            codes.get(n, 0),
        )
        for n, entry in ledger.items()
        if entry.kind in HOSTILE_KINDS
    ]


def fallback_times(lakehouse: Lakehouse) -> list[float]:
    """When each of the run's enrichments scored by the fallback was made."""
    return [
        float(row[0])
        for row in lakehouse.query(
            f"SELECT to_unixtime(enriched_at) FROM {ENRICHMENTS} WHERE score_source = '{FALLBACK}' "
            f"AND event_id IN ({lakehouse.run_payment_ids()})"
        )
    ]


def quarantine_reasons(lakehouse: Lakehouse, run_id: str) -> dict[str, str]:
    prefix = hostile_id(run_id, 0).rsplit("_", 1)[0] + "_"
    return {
        f"{r[0]}:{r[1]}": str(r[2] or "")
        for r in lakehouse.query(
            f"SELECT provider, provider_event_id, rejection_reason FROM {QUARANTINE} "
            f"WHERE provider_event_id LIKE '{prefix}%'"
        )
    }


# -- figures ----------------------------------------------------------------------------------


def fault_rows(
    runs: Sequence[FaultRun],
    started: float,
    windows: Sequence[tuple[float, float]],
    hits: Sequence[Hit],
    retries: Sequence[Hit],
    fallbacks: Sequence[float],
    restarts: RestartBlame,
) -> list[dict[str, Any]]:
    """One row per fault: when, how long until ready and flowing, what it cost."""
    failed_by: dict[int, list[Hit]] = {}
    for hit in hits:
        index = window_of(hit.sent, windows)
        if index is not None and needs_retry(hit.code):
            failed_by.setdefault(index, []).append(hit)
    fallback_by: dict[int, int] = {}
    for at in fallbacks:
        index = window_of(at, windows)
        if index is not None:
            fallback_by[index] = fallback_by.get(index, 0) + 1
    rows = []
    index = 0
    for run in runs:
        row: dict[str, Any] = {"fault": run.fault.name, "planned s": run.planned.at}
        if not run.killed_at:
            rows.append(row | {"note": run.error or "not killed"})
            continue
        recovered = run.recovered_at()
        failed = failed_by.get(index, [])
        figures = retry_figures(failed, retries)
        flowing = run.flowing()
        row |= {
            "killed s": round(run.killed_at - started, 1),
            "ready s": round(run.ready_at - run.killed_at, 1) if run.ready_at else "never",
            "flowing s": round(flowing - run.killed_at, 1) if flowing else "never",
            "recovered s": round(recovered - run.killed_at, 1) if recovered else "NO",
            "5xx/no answer": len({hit.n for hit in failed}),
            "503": len({hit.n for hit in failed if hit.code == 503}),
            "re-sent, then 2xx": figures.accepted,
            "still failing": figures.still_failing,
            "fallback enrichments": fallback_by.get(index, 0),
            "Flink restarts": restarts.by_fault.get(index, 0),
            "note": run.error
            or ", ".join(f"{s} {t - run.killed_at:.1f}s" for s, t in run.flowing_at.items() if t),
        }
        rows.append(row)
        index += 1
    return rows


def check_rows(
    checks: Mapping[str, Reconciliation],
    hostile: Mapping[str, HostileCounts],
    share: tuple[int, int],
    retry: RetryFigures,
    restarts: RestartBlame,
) -> list[dict[str, Any]]:
    rows = [
        ratio_row(name, float(check.found), float(check.expected), check.describe())
        for name, check in checks.items()
    ]
    hostile_sent, total = share
    rows.append(
        ratio_row(
            "hostile share of webhooks",
            hostile_sent / total if total else 0.0,
            None,
            f"{hostile_sent:,} of {total:,}",
        )
    )
    for kind, c in sorted(hostile.items()):
        note = (
            f"4xx {c.refused}, DLQ {c.dead_lettered}, quarantine {c.quarantined}"
            + (f"; AS PAYMENT {c.as_payment}" if c.as_payment else "")
            + (f"; UNANSWERED {c.unanswered}" if c.unanswered else "")
            + (f"; LOST {c.lost}" if c.lost else "")
        )
        ended = c.refused + c.dead_lettered + c.quarantined
        rows.append(ratio_row(f"{kind}: ended with a reason", float(ended), float(c.sent), note))
    rows.append(
        ratio_row(
            "webhooks re-sent as a provider would",
            float(retry.accepted),
            float(retry.failed),
            f"2xx on a retry {retry.accepted:,}, 4xx {retry.refused:,}, "
            f"still failing {retry.still_failing:,}",
        )
    )
    rows.append(
        ratio_row(
            "Flink restarts outside every fault (input?)",
            float(restarts.unattributed),
            0.0,
            f"in fault windows: {sum(restarts.by_fault.values())}",
        )
    )
    return rows


def verdict(
    runs: Sequence[FaultRun],
    checks: Mapping[str, Reconciliation],
    hostile: Mapping[str, HostileCounts],
    retry: RetryFigures,
    restarts: RestartBlame,
) -> list[str]:
    """What failed; nothing: every fault healed by itself, 0 lost, 0 duplicated."""
    problems = [
        f"{r.fault.name}: {r.error or 'not recovered'}" for r in runs if not r.recovered_at()
    ]
    problems += [f"{name}: {c.describe()}" for name, c in checks.items() if not c.exact]
    problems += [
        f"{kind}: not every one ended with a reason" for kind, c in hostile.items() if not c.clean
    ]
    if retry.still_failing:
        problems.append(f"{retry.still_failing} webhooks still failing after the retries")
    if restarts.unattributed:
        problems.append(f"{restarts.unattributed} Flink restarts outside every fault's window")
    return problems


def analyse(
    settings: ChaosSettings,
    spec: TargetSpec,
    observed: ChaosObserved,
    ledger: dict[int, LedgerEntry],
    landed: Landed,
    fallbacks: list[float],
    dlq: dict[str, str],
    quarantined: dict[str, str],
) -> list[Result]:
    soak = observed.soak
    all_hits = soak.hits + observed.retries
    checks = reconciliations(landed, ledger, all_hits)
    windows = fault_windows(observed.runs, time.time())
    blame = blame_restarts(
        [t for series in observed.restarts.values() for t in restart_times(series)], windows
    )
    retry = retry_figures(soak.hits, observed.retries)
    payment_keys = {key for key, _, _, _ in landed.payments}
    endings = hostile_endings(ledger, final_codes(all_hits), spec.run_id)
    hostile = hostile_accounting(endings, dlq, quarantined, payment_keys)
    dlq_expected = [
        request_id(spec.run_id, n)
        for n, code in final_codes(all_hits).items()
        if 200 <= code < 300 and ledger.get(n) and ledger[n].expected_topic == "dlq"
    ]
    checks = dict(checks)
    checks["webhooks: dead-lettered = DLQ records with a reason"] = Reconciliation(
        len(set(dlq_expected)),
        sum(1 for r in set(dlq_expected) if dlq.get(r)),
        sum(1 for r in set(dlq_expected) if dlq.get(r)),
    )
    rows = fault_rows(
        observed.runs, soak.started, windows, soak.hits, observed.retries, fallbacks, blame
    )
    share = (len(endings), len(ledger))
    problems = verdict(observed.runs, checks, hostile, retry, blame)
    if observed.jr_returncode:
        problems.append(f"streaming.load exited with {observed.jr_returncode} (see chaos-jr.log)")
    text = (
        f"The soak's load ({settings.rate:g} webhooks/s, {settings.hostile_share:.0%} hostile, "
        f"JR {settings.jr_rate:g} msg/s) for {settings.duration}; each service's process tree "
        "killed -9 in turn, nothing typed. ready: supervisord's new process passes its "
        "readiness check; flowing: each signal of the fault moved past its value at the kill "
        "(a Flink job's committed offsets = a checkpoint committed to Iceberg; the bridge's; "
        "the enriched topic's end; a webhook sent after the kill answered 2xx). 5xx and "
        "unanswered webhooks re-sent after the load as a provider would. "
    )
    text += (
        "Every fault healed by itself; reconciliation exact."
        if not problems
        else "PROBLEMS: " + "; ".join(problems) + "."
    )
    data = {
        "settings": settings.model_dump(mode="json"),
        "runs": [asdict(r) | {"recovered_at": r.recovered_at()} for r in observed.runs],
        "restarts": observed.restarts,
        "exceptions": observed.exceptions,
        "reconciliation": {n: asdict(c) | {"exact": c.exact} for n, c in checks.items()},
        "hostile": {k: asdict(c) for k, c in hostile.items()},
        "retries": asdict(retry),
        "results_file": str(Path(spec.ledger).parent / "chaos-results.jsonl"),
    }
    return [
        Result(name=NAME, measured=True, reason=text, rows=rows, data=data),
        Result(
            name=CHECKS_NAME,
            measured=True,
            reason="The chaos run's exact reconciliation, hostile webhooks' endings, retries.",
            rows=check_rows(checks, hostile, share, retry, blame),
        ),
    ]


def environment_problems(stack: StackSettings) -> list[str]:
    """What stops a run now (the platform, vegeta, supervisord's programs)."""
    problems = []
    if not vegeta_bin(stack).exists():
        problems.append(f"vegeta is not installed at {vegeta_bin(stack)}: `make setup`")
    try:
        platform = Stack(stack, LakehouseSettings())
    except FileNotFoundError as exc:  # PostgreSQL or PyFlink not installed
        return [*problems, f"{exc}"]
    if not platform.supervisord_running():
        return [*problems, "supervisord is not running: `make up`"]
    pids = service_pids(platform)
    missing = [f.program for f in FAULTS if f.program not in pids]
    if missing:
        problems.append(f"not running under supervisord: {', '.join(missing)}")
    if (
        os.geteuid() != 0
        and "postgres" in pids
        and Path(f"/proc/{pids['postgres']}").stat().st_uid != os.geteuid()
    ):
        problems.append("PostgreSQL runs as another user: killing it needs root")
    reason = not_ready(stack)
    if reason:
        problems.append(reason)
    return problems


def run(settings: ChaosSettings, out: Path) -> list[Result]:
    stack_settings = StackSettings()
    problems = environment_problems(stack_settings)
    if problems:
        return [Result.not_measured(NAME, "; ".join(problems))]
    stack = Stack(stack_settings, LakehouseSettings())
    plan = schedule(FAULTS, settings.seconds, settings.drain_share)
    kafka = KafkaSettings()
    observed = ChaosObserved()
    soak = observed.soak
    jr_topics = list(RAW_EVENT_TOPICS.values())
    hook_topics = [provider.topic for provider in PROVIDERS]
    soak.jr_start = end_offsets(kafka.bootstrap_servers, jr_topics)
    soak.hook_start = end_offsets(kafka.bootstrap_servers, hook_topics)
    observed.dlq_start = end_offsets(kafka.bootstrap_servers, [INGESTION_DLQ])
    probe = LagProbe(kafka.bootstrap_servers, groups())
    sampler = Sampler(probe, service_pids(stack), observed, settings.sample_seconds)
    chaos = Chaos(stack, plan, settings)
    observed.runs = chaos.runs
    spec = targets_spec(settings, out)
    try:
        chaos_load(settings, spec, out, chaos, sampler, observed)
        observed.retries = provider_retries(spec, soak.hits, settings)
        soak.jr_end = end_offsets(kafka.bootstrap_servers, jr_topics)
        soak.hook_end = end_offsets(kafka.bootstrap_servers, hook_topics)
        observed.dlq_end = end_offsets(kafka.bootstrap_servers, [INGESTION_DLQ])
        print("  load and retries done; draining", flush=True)
        sampler.stop.set()
        sampler.join(30)
        lakehouse = Lakehouse(soak)
        drain(settings.soak(), probe, sampler.pids, soak, lakehouse)
        landed = lakehouse.read()
        fallbacks = fallback_times(lakehouse)
        quarantined = quarantine_reasons(lakehouse, spec.run_id)
    finally:
        sampler.stop.set()
        probe.close()
    observed.exceptions = recent_exceptions(f"http://127.0.0.1:{stack_settings.flink_rest_port}")
    dlq = dlq_records(
        kafka.bootstrap_servers,
        observed.dlq_start.get(INGESTION_DLQ, {}),
        observed.dlq_end.get(INGESTION_DLQ, {}),
    )
    ledger = read_ledger(Path(spec.ledger))
    failed = {recovery_workflow_id(e) for _, e, t, _ in landed.payments if t == "payment.failed"}
    landed.recoveries = recovery_ids(failed)
    return analyse(settings, spec, observed, ledger, landed, fallbacks, dlq, quarantined)


# -- entry point ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--plan", action="store_true", help="print the schedule, check the platform, kill nothing"
    )
    parser.add_argument(
        "--no-results-md", action="store_true", help="do not rewrite bench/RESULTS.md"
    )
    add_settings_arguments(parser, ChaosSettings)
    return parser


def settings_from(args: argparse.Namespace) -> ChaosSettings:
    overrides: dict[str, Any] = {}
    for name in ChaosSettings.model_fields:
        value = getattr(args, name)
        if value is None:
            continue
        overrides[name] = value.split(",") if name == "retry_delays_seconds" else value
    return ChaosSettings.model_validate({**ChaosSettings().model_dump(), **overrides})


def print_plan(
    settings: ChaosSettings, plan: Sequence[Planned], report: Callable[[str], None] = print
) -> list[str]:
    report(
        f"Chaos soak: {settings.rate:g} webhooks/s ({settings.hostile_share:.0%} hostile) + JR "
        f"{settings.jr_rate:g} msg/s for {settings.duration}; kill -9, in turn:"
    )
    report(schedule_text(plan))
    report(
        f"  then {settings.seconds - plan[-1].at:.0f}s without faults; retries after "
        f"{', '.join(f'{d:g}s' for d in settings.retry_delays_seconds)}; a fault waits for "
        f"the previous one's recovery (at most {settings.recovery_timeout_seconds:g}s) + "
        f"{settings.settle_seconds:g}s"
    )
    problems = plan_problems(plan, settings.seconds, settings)
    for problem in problems:
        report(f"  warning: {problem}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, leave_on_sigterm)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    settings = settings_from(args)
    plan = schedule(FAULTS, settings.seconds, settings.drain_share)
    print_plan(settings, plan)
    if args.plan:
        problems = environment_problems(StackSettings())
        for problem in problems:
            print(f"  not ready: {problem}")
        print("  environment ready for `make chaos`" if not problems else "")
        return 0 if not problems else 1
    run_dir = BenchSettings().output_root / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir.mkdir(parents=True, exist_ok=True)
    machine = describe_machine()
    write_json(run_dir / "machine.json", machine)
    write_json(run_dir / "settings.json", settings.model_dump(mode="json"))
    print(f"  -> {run_dir}", flush=True)
    started = time.monotonic()
    results = run(settings, run_dir)
    for result in results:
        result.seconds = round(time.monotonic() - started, 1)
        write_json(run_dir / f"{result.name.replace(' ', '_')}.json", result.to_json())
        print(f"\n{result.reason}\n" if result.measured else f"\nnot measured: {result.reason}")
        print(format_table(result.rows))
    command = shlex.join(["python", "-m", "bench.chaos", *argv])
    write_run_file(run_dir, command)
    if not args.no_results_md:
        update_results_md(render_figures(results, machine, run_dir, command, current_figures()))
        print("\nbench/RESULTS.md updated.")
    return 0 if all(r.measured for r in results) and "PROBLEMS" not in results[0].reason else 1


if __name__ == "__main__":
    sys.exit(main())
