"""Scale-out, proven locally: each part at one instance and at more, in the same run.

- Flink: a copy of the validation job (bench.pipeline: topics, tables and job names of
  the run's own) drains one pre-filled backlog at each parallelism, with a second
  TaskManager of the run's own beside the platform's: the same distribution and
  configuration, joined to the platform's JobManager, stopped afterwards. The topics have
  as many partitions as the highest parallelism, so every source subtask has one to read.
- Gateway: `python -m gateway` in one and then more worker processes behind one port, at
  one offered rate meant to saturate one worker (bench.gateway's step).
- Temporal workers: the side stream's bridge with one and then more `workflows.worker`
  processes on one task queue, at one rate (bench.sidestream's measure).

Each rate is reported against the same part's one-instance rate (`ratio_to_one`). The
instances share the box's CPUs with the platform and the load clients: on a 2-core box
more instances may well not help, and the figures say what they say.
"""

from __future__ import annotations

import math
import os
import secrets
import subprocess
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.flink import CHECKPOINT_INTERVAL, PREFILL_PRODUCER, drain, landed_rows
from bench.gateway import GATEWAY_APP, gateway_env, prefixed_topics, sweep
from bench.messages import prefill
from bench.pipeline import pipeline
from bench.plots import line_plot
from bench.results import Result
from bench.settings import BenchSettings
from bench.sidestream import Figures, measure, row
from deploy.local.readiness import flink_ready, inference_ready
from deploy.local.services import flink_environment, flink_taskmanager_command
from deploy.local.settings import StackSettings
from lakehouse.settings import LakehouseSettings

NAME = "scaleout"
FLINK_PART = "flink validation job"
GATEWAY_PART = "gateway workers"
ENRICHMENT_PART = "temporal workers: enrichments"
RECOVERY_PART = "temporal workers: recoveries"

# The second TaskManager's resource id (and Pushgateway job) starts with this.
SECOND_TASKMANAGER = "bench-scaleout-taskmanager"
# A JVM start on a busy 2-core box takes tens of seconds.
TASKMANAGER_START_TIMEOUT = 180.0
TASKMANAGER_STOP_TIMEOUT = 30.0
# What the JobManager lists as the TaskManager of subtasks that never got a slot.
UNASSIGNED = "(unassigned)"


@dataclass(frozen=True)
class Measured:
    """One part at one instance count: its rate, and a line on how it was got."""

    part: str
    instances: int
    rate: float
    unit: str
    detail: str = ""


@dataclass
class Part:
    """What one part's measurement gives the result: rows, raw figures, a sentence."""

    measured: list[Measured]
    data: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def instance_counts(asked: Iterable[int]) -> list[int]:
    """The instance counts to measure, ascending, once each; one is always among them,
    since every rate is reported against it."""
    return sorted({1, *asked})


def ratio(rate: float, one: float | None) -> float:
    """`rate` against the one-instance rate; NaN when that is missing, 0 or NaN."""
    if one is None or not one > 0:
        return math.nan
    return rate / one


def scaleout_rows(measured: Sequence[Measured]) -> list[dict[str, Any]]:
    """The table: every rate with its ratio to the same part's one-instance rate."""
    one = {m.part: m.rate for m in measured if m.instances == 1}
    return [
        {
            "part": m.part,
            "instances": m.instances,
            "rate": m.rate,
            "unit": m.unit,
            "ratio_to_one": ratio(m.rate, one.get(m.part)),
            "detail": m.detail,
        }
        for m in measured
    ]


def ratio_series(rows: Sequence[Mapping[str, Any]]) -> dict[str, tuple[list[float], list[float]]]:
    """Per part, instances -> ratio to one instance, and the linear ideal beside them."""
    series: dict[str, tuple[list[float], list[float]]] = {}
    for r in rows:
        xs, ys = series.setdefault(str(r["part"]), ([], []))
        xs.append(float(r["instances"]))
        ys.append(float(r["ratio_to_one"]))
    most = max((float(r["instances"]) for r in rows), default=1.0)
    series["linear (ideal)"] = ([1.0, most], [1.0, most])
    return series


def per_second(count: int, start: float, end: float) -> float:
    """`count` over the span from `start` to `end`; 0 for nothing, NaN for no span."""
    if count == 0:
        return 0.0
    span = end - start
    return count / span if span > 0 else math.nan


def enrichments_per_s(figures: Figures) -> float:
    """Events enriched per second: from the first event's append to the last event's
    first result."""
    firsts = [
        min(ats) for event_id, ats in figures.results_at.items() if event_id in figures.sent_at
    ]
    return per_second(
        len(firsts), min(figures.sent_at.values(), default=math.nan), max(firsts, default=math.nan)
    )


def completed_recoveries_per_s(figures: Figures) -> float:
    """Recovery workflows completed per second: from the first failed payment's append to
    the last recovery's close."""
    closes = [
        r.closed for r in figures.recoveries if r.status == "COMPLETED" and r.closed is not None
    ]
    failed_at = [figures.sent_at[e] for e in figures.failed_ids if e in figures.sent_at]
    return per_second(len(closes), min(failed_at, default=math.nan), max(closes, default=math.nan))


# -- the second TaskManager ----------------------------------------------------------------


@dataclass(frozen=True)
class TaskManagerLaunch:
    """How the second TaskManager is started: the platform's command and configuration
    folder, with overrides so that nothing of it collides with the platform's own."""

    resource_id: str
    command: list[str]
    env: dict[str, str]
    folder: Path


def dynamic_properties(properties: Mapping[str, str]) -> list[str]:
    """Flink's `-D key=value` overrides of the configuration file."""
    return [arg for key, value in properties.items() for arg in ("-D", f"{key}={value}")]


def second_taskmanager_launch(stack: StackSettings, folder: Path, suffix: str) -> TaskManagerLaunch:
    resource_id = f"{SECOND_TASKMANAGER}-{suffix}"
    overrides = {
        "taskmanager.resource-id": resource_id,
        "io.tmp.dirs": str(folder / "tmp"),
        "process.taskmanager.working-dir": str(folder / "working"),
        # Any free port: Flink's defaults, said here so that no setting of the platform's
        # configuration can give both TaskManagers of the box the same one.
        "taskmanager.rpc.port": "0",
        "taskmanager.data.port": "0",
        "metrics.internal.query-service.port": "0",
    }
    # It pushes its metrics under its own Pushgateway job (its resource id), beside the
    # platform's TaskManager's, and deletes them when it stops.
    command = flink_taskmanager_command(stack, resource_id) + dynamic_properties(overrides)
    env = flink_environment(stack) | {
        # Its log file, and its pid file: in the platform's pid folder it would be added to
        # the platform's TaskManager's, which `taskmanager.sh stop` stops all of.
        "FLINK_LOG_DIR": str(folder / "log"),
        "FLINK_PID_DIR": str(folder),
    }
    return TaskManagerLaunch(resource_id, command, env, folder)


def registered_slots(body: Mapping[str, Any], resource_id: str) -> int:
    """The slots the JobManager's `/taskmanagers` lists for that TaskManager (0: absent)."""
    for taskmanager in body.get("taskmanagers", []):
        if taskmanager.get("id") == resource_id:
            return int(taskmanager.get("slotsNumber", 0))
    return 0


def slots_listed(rest: str, resource_id: str) -> int:
    try:
        answer = httpx.get(f"{rest}/taskmanagers", timeout=3)
        answer.raise_for_status()
        return registered_slots(answer.json(), resource_id)
    except (httpx.HTTPError, ValueError):
        return 0


@dataclass(frozen=True)
class JoinedTaskManager:
    resource_id: str
    slots: int
    seconds_to_join: float


def stop_process(process: subprocess.Popen[bytes], grace: float) -> None:
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def second_taskmanager(stack: StackSettings, folder: Path) -> Iterator[JoinedTaskManager]:
    """A second TaskManager, joined to the platform's JobManager until the block ends."""
    launch = second_taskmanager_launch(stack, folder, uuid.uuid4().hex[:8])
    for sub in ("tmp", "working", "log"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    rest = f"http://127.0.0.1:{stack.flink_rest_port}"
    log = folder / "taskmanager.out"
    started = time.monotonic()
    with open(log, "w") as output:
        process = subprocess.Popen(
            launch.command,
            env={**os.environ, **launch.env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            while not (slots := slots_listed(rest, launch.resource_id)):
                if process.poll() is not None:
                    raise RuntimeError(
                        f"the second TaskManager exited ({process.returncode}); see {log}"
                    )
                if time.monotonic() - started > TASKMANAGER_START_TIMEOUT:
                    raise RuntimeError(
                        f"the JobManager did not list {launch.resource_id} within "
                        f"{TASKMANAGER_START_TIMEOUT:g}s; see {log}"
                    )
                time.sleep(1)
            yield JoinedTaskManager(launch.resource_id, slots, time.monotonic() - started)
        finally:
            stop_process(process, TASKMANAGER_STOP_TIMEOUT)
            # Until the JobManager lets it go, it would offer its slots to the next job.
            deadline = time.monotonic() + TASKMANAGER_STOP_TIMEOUT
            while slots_listed(rest, launch.resource_id) and time.monotonic() < deadline:
                time.sleep(1)


def hosting_taskmanagers(vertex_answers: Iterable[Mapping[str, Any]]) -> list[str]:
    """The TaskManagers that ran a job's subtasks, from its vertices' `/taskmanagers`."""
    return sorted(
        {
            str(taskmanager["taskmanager-id"])
            for answer in vertex_answers
            for taskmanager in answer.get("taskmanagers", [])
            if taskmanager.get("taskmanager-id") not in (None, "", UNASSIGNED)
        }
    )


def job_taskmanagers(rest: str, job_id: str) -> list[str]:
    """Which TaskManagers ran the job (the JobManager still knows once it is cancelled);
    none when it cannot say."""
    try:
        with httpx.Client(base_url=rest, timeout=10) as http:
            job = http.get(f"/jobs/{job_id}").raise_for_status().json()
            answers = [
                http.get(f"/jobs/{job_id}/vertices/{vertex['id']}/taskmanagers")
                .raise_for_status()
                .json()
                for vertex in job.get("vertices", [])
            ]
    except (httpx.HTTPError, ValueError):
        return []
    return hosting_taskmanagers(answers)


# -- the parts -----------------------------------------------------------------------------


def flink_measured(parallelism: int, figures: Mapping[str, Any], second: str) -> Measured:
    """A drain's rate, with where it ran (`second`: the second TaskManager's id)."""
    hosts = figures["taskmanagers"]
    detail = (
        f"on {len(hosts)} TaskManager(s)" + (", the second among them" if second in hosts else "")
        if hosts
        else "TaskManagers unknown"
    )
    if math.isfinite(figures["steady_events_per_s"]):
        detail += f"; steady {figures['steady_events_per_s']:,.0f} events/s"
    if not figures["complete"]:
        detail += "; not drained within the timeout"
    return Measured(FLINK_PART, parallelism, figures["events_per_s"], "events/s", detail)


def flink_part(settings: BenchSettings, out: Path) -> Part:
    stack = StackSettings()
    flink_ready(stack, LakehouseSettings())
    parallelisms = instance_counts(settings.scaleout_flink_parallelisms)
    total = settings.scaleout_flink_messages
    timeout = settings.flink_drain_timeout_seconds
    rest = f"http://127.0.0.1:{stack.flink_rest_port}"
    drains: dict[int, dict[str, Any]] = {}
    with (
        second_taskmanager(stack, out / "scaleout-taskmanager") as second,
        pipeline(
            "bench-scaleout",
            partitions=max(parallelisms),
            checkpoint_interval=CHECKPOINT_INTERVAL,
            state_dir=out / "scaleout-flink-state",
        ) as p,
    ):
        print(f"    {second.resource_id} joined with {second.slots} slots", flush=True)
        producer = p.producer(**PREFILL_PRODUCER)
        counts, fill_seconds = prefill(producer, p.topics, total, settings.flink_invalid_share)
        for n in parallelisms:
            name = f"bench-scaleout-p{n}-{p.suffix}"
            figures = drain(p, name, total, timeout, passthrough=False, parallelism=n)
            figures["taskmanagers"] = job_taskmanagers(rest, figures["job_id"])
            drains[n] = figures
            print(f"    parallelism {n}: {figures['events_per_s']:,.0f} events/s", flush=True)
        rows_landed = landed_rows(p)
    expected = total * len(parallelisms)
    return Part(
        measured=[flink_measured(n, f, second.resource_id) for n, f in drains.items()],
        data={
            "second_taskmanager": asdict(second),
            "counts": counts,
            "fill_seconds": fill_seconds,
            "drains": drains,
            "iceberg_rows": rows_landed,
            "iceberg_rows_expected": expected,
        },
        note=(
            f"Flink: {total:,} messages ({settings.flink_invalid_share:.0%} invalid) pre-filled "
            f"in {fill_seconds:.1f}s over 4 topics of {max(parallelisms)} partitions, drained "
            f"by the validation job at parallelism {', '.join(map(str, parallelisms))} (one "
            f"job after the other, each from the earliest offsets), checkpoints every "
            f"{CHECKPOINT_INTERVAL}; rate: committed offsets over the whole drain. A second "
            f"TaskManager ({second.slots} slots, joined in {second.seconds_to_join:.0f}s) ran "
            "beside the platform's; the platform spreads a job's slots over the TaskManagers "
            "(taskmanager.load-balance.mode SLOTS), the detail says which ran each job."
            f" Rows in Iceberg afterwards: {rows_landed:,} of "
            f"{expected:,}."
        ),
    )


def gateway_measured(workers: int, step: Mapping[str, Any]) -> Measured:
    """A gateway step's achieved rate (2xx answers/s), its p99 and the CPU it took."""
    return Measured(
        GATEWAY_PART,
        workers,
        step["achieved_rate"],
        "requests/s",
        f"p99 {step['latency_ms']['p99']:,.1f} ms, {step['errors']:,} errors, server CPU "
        f"{step['server_cpu_percent']:.0f}%, client CPU {step['client_cpu_percent']:.0f}%",
    )


def gateway_part(settings: BenchSettings, out: Path) -> Part:
    secret = "whsec_" + secrets.token_hex(16)
    prefix = f"bench.{secrets.token_hex(4)}."
    rate = settings.scaleout_gateway_rate
    workers = instance_counts(settings.scaleout_gateway_workers)
    steps: dict[int, dict[str, Any]] = {}
    with prefixed_topics(prefix):
        env = gateway_env(secret, prefix)
        for n in workers:
            folder = out / f"scaleout-gateway-{n}"
            folder.mkdir(parents=True, exist_ok=True)
            one_step = settings.model_copy(
                update={
                    "gateway_workers": n,
                    "gateway_rates": [rate],
                    "gateway_step_seconds": settings.scaleout_gateway_seconds,
                }
            )
            steps[n] = sweep(GATEWAY_APP, env, one_step, secret, folder)[0]
    return Part(
        measured=[gateway_measured(n, step) for n, step in steps.items()],
        data={"steps": steps},
        note=(
            f"Gateway: `python -m gateway` in {', '.join(map(str, workers))} worker "
            f"process(es) behind one port, {rate:,} signed Stripe webhooks/s offered for "
            f"{settings.scaleout_gateway_seconds:g}s ({settings.gateway_client}, up to "
            f"{settings.gateway_max_connections} connections); rate: 2xx answers/s."
        ),
    )


def sidestream_measured(workers: int, figures: Figures) -> list[Measured]:
    """A side-stream run's two rates: enrichments and completed recoveries."""
    figures_row = row(figures)
    completed = sum(r.status == "COMPLETED" for r in figures.recoveries)
    return [
        Measured(
            ENRICHMENT_PART,
            workers,
            enrichments_per_s(figures),
            "enrichments/s",
            f"{figures_row['enriched']:,} of {figures_row['sent']:,} enriched, lag p95 "
            f"{figures_row['lag_p95_s']:.2f} s",
        ),
        Measured(
            RECOVERY_PART,
            workers,
            completed_recoveries_per_s(figures),
            "recoveries/s",
            f"{completed:,} of {len(figures.failed_ids):,} completed, recovery p95 "
            f"{figures_row['recovery_p95_s']:.2f} s",
        ),
    ]


def sidestream_part(settings: BenchSettings, out: Path) -> Part:
    stack = StackSettings()
    inference_ready(stack, LakehouseSettings())
    inference_url = f"http://127.0.0.1:{stack.inference_port}"
    rate = settings.scaleout_sidestream_rate
    at_rate = settings.model_copy(
        update={"sidestream_seconds": settings.scaleout_sidestream_seconds}
    )
    workers = instance_counts(settings.scaleout_sidestream_workers)
    runs: dict[int, Figures] = {}
    for n in workers:
        folder = out / f"scaleout-sidestream-{n}"
        folder.mkdir(parents=True, exist_ok=True)
        runs[n] = measure(at_rate, rate, inference_url, folder, workers=n)
        print(f"    {n} worker(s): {enrichments_per_s(runs[n]):,.1f} enrichments/s", flush=True)
    return Part(
        measured=[m for n, figures in runs.items() for m in sidestream_measured(n, figures)],
        data={"runs": {n: row(figures) for n, figures in runs.items()}},
        note=(
            f"Temporal workers: {', '.join(map(str, workers))} `workflows.worker` process(es) "
            f"on one task queue with one bridge, {rate:g} unified events/s for "
            f"{settings.scaleout_sidestream_seconds:g}s ({settings.sidestream_failed_share:.0%} "
            "failed payments), the platform's inference service; enrichments/s from the first "
            "event's append to the last first result, recoveries/s: completed recovery "
            "workflows from the first failed payment's append to the last close."
        ),
    )


PARTS: dict[str, Callable[[BenchSettings, Path], Part]] = {
    "flink": flink_part,
    "gateway": gateway_part,
    "temporal workers": sidestream_part,
}


def reason(cpus: int | None, notes: Sequence[str]) -> str:
    return " ".join(
        [
            f"On this box's {cpus or '?'} CPUs, shared by the platform, every instance and "
            "the load clients: on a 2-core box more instances may not help, and the figures "
            "say what they say. Instances: the job's parallelism for Flink, worker processes "
            "for the others; ratio_to_one: the rate over the same part's one-instance rate in "
            "this run. A part that keeps up with the offered rate at one instance cannot show "
            "more than a ratio near 1.",
            *notes,
        ]
    )


def run(settings: BenchSettings, out: Path) -> Result:
    measured: list[Measured] = []
    data: dict[str, Any] = {}
    notes: list[str] = []
    for name, part in PARTS.items():
        print(f"  {name}", flush=True)
        try:
            figures = part(settings, out)
        except Exception as exc:  # one broken part must not lose the others' figures
            traceback.print_exc()
            notes.append(f"{name}: not measured ({type(exc).__name__}: {exc}).")
            continue
        measured += figures.measured
        data[name] = figures.data
        notes.append(figures.note)
    if not measured:
        return Result.not_measured(NAME, " ".join(notes))
    rows = scaleout_rows(measured)
    plot = line_plot(
        out / "scaleout.png",
        ratio_series(rows),
        title="Rate against one instance, in the same run",
        xlabel="instances (Flink: parallelism; others: worker processes)",
        ylabel="rate / one instance's rate",
    )
    return Result(
        name=NAME,
        measured=True,
        reason=reason(os.cpu_count(), notes),
        rows=rows,
        data={"cpus": os.cpu_count(), "parts": data},
        plots=[plot],
    )
