"""Resident memory of each platform service, idle and while a JR load runs.

The services are supervisord's programs; each one's RSS is the sum over its process and
its descendants (a JVM may sit below a wrapper script), read from /proc. Nothing is
stopped or restarted, so `make up` is not timed here: every `make up` records its time
in the log folder's `up.log`, and the newest cold start there (every service started by
that `make up`) is reported, or the newest start if there was no cold one.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.plots import bar_plot
from bench.results import Result
from bench.settings import BenchSettings
from contracts.paths import REPO_ROOT
from deploy.flink.flink_rest import FlinkRest
from deploy.local.settings import StackSettings
from deploy.local.stack import UP_LOG, Stack
from lakehouse.settings import LakehouseSettings

READY_LINE = re.compile(r"Platform ready in (\d+)s \(started (\d+) of (\d+) services\)")


def rss_kib(pid: int) -> int:
    """VmRSS of one process in KiB; 0 if it is gone or has none (a zombie)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s*(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def children_by_parent() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses: split after it.
        fields = text[text.rindex(")") + 2 :].split()
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def descendants(pid: int, tree: dict[int, list[int]]) -> list[int]:
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack += tree.get(current, [])
    return found


def service_pids(stack: Stack) -> dict[str, int]:
    pids = {}
    for service in stack.services:
        output = stack.supervisorctl("pid", service.name, check=False).stdout.strip()
        if output.isdigit() and int(output) > 0:
            pids[service.name] = int(output)
    return pids


def rss_by_service(pids: dict[str, int]) -> dict[str, float]:
    """MiB per service, its whole process tree."""
    tree = children_by_parent()
    return {
        name: sum(rss_kib(p) for p in descendants(pid, tree)) / 1024 for name, pid in pids.items()
    }


def peak(samples: Iterable[dict[str, float]]) -> dict[str, float]:
    result: dict[str, float] = {}
    for sample in samples:
        for name, mib in sample.items():
            result[name] = max(result.get(name, 0.0), mib)
    return result


@dataclass(frozen=True)
class UpTime:
    seconds: int
    started: int
    services: int
    at: str

    @property
    def cold(self) -> bool:
        return self.started == self.services


def last_up(up_log: Path) -> UpTime | None:
    """The newest cold `make up` the log records, else the newest one; None if none."""
    try:
        lines = up_log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    ups = []
    for line in lines:
        match = READY_LINE.search(line)
        if match:
            seconds, started, services = (int(g) for g in match.groups())
            ups.append(UpTime(seconds, started, services, at=line.split(" ", 1)[0]))
    cold = [up for up in ups if up.cold]
    if cold:
        return cold[-1]
    return ups[-1] if ups else None


def idle_samples(pids: dict[str, int], count: int) -> list[dict[str, float]]:
    samples = []
    for _ in range(count):
        samples.append(rss_by_service(pids))
        time.sleep(1)
    return samples


def sample_under_load(pids: dict[str, int], settings: BenchSettings) -> list[dict[str, float]]:
    """RSS every second while `loadgen.jr` drives JR into the raw topics."""
    # loadgen.jr's --rate multiplies its per-type default rates (3.03 msg/s in total).
    multiplier = settings.footprint_load_rate / 3.03
    load = subprocess.Popen(
        [
            sys.executable, "-m", "loadgen.jr",
            "--rate", f"{multiplier:.3f}",
            "--duration", f"{settings.footprint_load_seconds:.0f}s",
        ],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    samples = []
    while load.poll() is None:
        samples.append(rss_by_service(pids))
        time.sleep(1)
    if load.returncode != 0:
        raise RuntimeError(f"loadgen.jr failed: {load.stderr.read() if load.stderr else ''}")
    return samples


def run(settings: BenchSettings, out: Path) -> Result:
    stack_settings = StackSettings()
    stack = Stack(stack_settings, LakehouseSettings())
    pids = service_pids(stack)
    if not pids:
        return Result.not_measured("footprint", "no supervisord program is running (`make up`)")
    with FlinkRest(f"http://127.0.0.1:{stack_settings.flink_rest_port}") as flink:
        jobs = sorted(job.name for job in flink.jobs() if job.state == "RUNNING")
    idle = peak(idle_samples(pids, count=3))
    loaded = peak(sample_under_load(pids, settings))
    up = last_up(stack_settings.log_dir / UP_LOG)
    by_service = {name: {"idle": idle.get(name, 0.0), "under load": loaded.get(name, 0.0)}
                  for name in pids}  # fmt: skip
    by_service["total"] = {"idle": sum(idle.values()), "under load": sum(loaded.values())}
    rows: list[dict[str, object]] = [
        {"service": name, "idle_mib": mib["idle"], "under_load_mib": mib["under load"]}
        for name, mib in by_service.items()
    ]
    plot = bar_plot(
        out / "footprint.png",
        by_service,
        title="Resident memory per service",
        ylabel="MiB",
    )
    if up is None:
        up_text = f"`make up` time not measured: {UP_LOG} in the log folder records none"
    else:
        kind = "a cold start" if up.cold else f"it started {up.started} of {up.services}"
        up_text = f"`make up` took {up.seconds}s at {up.at} ({kind})"
    jobs_text = ", ".join(jobs) or "`make submit` first for the figures to include the jobs"
    return Result(
        name="footprint",
        measured=True,
        reason=(
            f"Peak RSS of each supervisord program's process tree: idle (3 samples) and under "
            f"`loadgen.jr` at ~{settings.footprint_load_rate:g} msg/s for "
            f"{settings.footprint_load_seconds:g}s, with {len(jobs)} Flink job(s) running "
            f"({jobs_text}). Other work on the shared platform counts too. {up_text}."
        ),
        rows=rows,
        data={
            "pids": pids,
            "flink_jobs": jobs,
            "idle_mib": idle,
            "under_load_mib": loaded,
            "make_up": asdict(up) if up else None,
        },
        plots=[plot],
    )
