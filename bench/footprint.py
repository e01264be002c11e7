"""Resident memory of each platform service, idle and while a JR load runs.

The services are supervisord's programs; each one's RSS is the sum over its process and
its descendants (a JVM may sit below a wrapper script), read from /proc. Nothing is
stopped or restarted. `make up` time is measured only when the platform is down, which a
shared, running platform never is; otherwise the last recorded "Platform ready in Ns" is
reported if a log holds one.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from bench.plots import bar_plot
from bench.results import Result
from bench.settings import BenchSettings
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack
from lakehouse.settings import REPO_ROOT, LakehouseSettings

READY_LINE = re.compile(r"Platform ready in (\d+)s")


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


def last_up_seconds(log_dir: Path) -> int | None:
    """The newest "Platform ready in Ns" any log under the run folder recorded."""
    newest: tuple[float, int] | None = None
    for log in log_dir.rglob("*.log"):
        try:
            matches = READY_LINE.findall(log.read_text(errors="replace"))
        except OSError:
            continue
        if matches and (newest is None or log.stat().st_mtime > newest[0]):
            newest = (log.stat().st_mtime, int(matches[-1]))
    return newest[1] if newest else None


def idle_samples(pids: dict[str, int], count: int) -> list[dict[str, float]]:
    samples = []
    for _ in range(count):
        samples.append(rss_by_service(pids))
        time.sleep(1)
    return samples


def sample_under_load(pids: dict[str, int], settings: BenchSettings) -> list[dict[str, float]]:
    """RSS every second while `streaming.load` drives JR into the raw topics."""
    # streaming.load's --rate multiplies its per-type default rates (3.03 msg/s in total).
    multiplier = settings.footprint_load_rate / 3.03
    load = subprocess.Popen(
        [
            sys.executable, "-m", "streaming.load",
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
        raise RuntimeError(f"streaming.load failed: {load.stderr.read() if load.stderr else ''}")
    return samples


def run(settings: BenchSettings, out: Path) -> Result:
    stack_settings = StackSettings()
    stack = Stack(stack_settings, LakehouseSettings())
    pids = service_pids(stack)
    if not pids:
        return Result.not_measured("footprint", "no supervisord program is running (`make up`)")
    idle = peak(idle_samples(pids, count=3))
    loaded = peak(sample_under_load(pids, settings))
    up_seconds = last_up_seconds(stack_settings.log_dir)
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
    up = (
        f"`make up` took {up_seconds}s (last recorded)"
        if up_seconds is not None
        else "`make up` time not measured: the shared platform was already up and no log "
        "holds a 'Platform ready in Ns' line"
    )
    return Result(
        name="footprint",
        measured=True,
        reason=(
            f"Peak RSS of each supervisord program's process tree: idle (3 samples) and under "
            f"`streaming.load` at ~{settings.footprint_load_rate:g} msg/s for "
            f"{settings.footprint_load_seconds:g}s. Other helpers' work on the shared platform "
            f"counts too. {up}."
        ),
        rows=rows,
        data={"pids": pids, "idle_mib": idle, "under_load_mib": loaded, "up_seconds": up_seconds},
        plots=[plot],
    )
