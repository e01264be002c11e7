"""Faults on the shared platform's processes, through supervisord (which restarts them).

Only for the fault tests: each one disrupts everyone who uses the platform meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable

import httpx

from bench.footprint import children_by_parent, descendants, service_pids
from deploy.flink.flink_rest import FlinkRest, FlinkRestError
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack
from lakehouse.settings import LakehouseSettings


def stack() -> Stack:
    return Stack(StackSettings(), LakehouseSettings())


def restart(service: str) -> None:
    """A polite stop and start, as `supervisorctl restart` does it."""
    stack().supervisorctl("restart", service)


def kill_hard(service: str) -> list[int]:
    """kill -9 of the service's whole process tree; supervisord starts it again."""
    pid = service_pids(stack())[service]
    victims = descendants(pid, children_by_parent())
    for victim in reversed(victims):  # the JVM below its wrapper first
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    return victims


def wait_for_new_pid(service: str, old: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = service_pids(stack()).get(service)
        if pid and pid != old:
            return pid
        time.sleep(1)
    raise AssertionError(f"supervisord did not restart {service} within {timeout:.0f}s")


def wait_for_flink(base_url: str, timeout: float = 180) -> None:
    """Until the JobManager answers and a TaskManager with free slots has registered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            overview = httpx.get(f"{base_url}/overview", timeout=3).json()
            if overview.get("taskmanagers", 0) >= 1 and overview.get("slots-available", 0) >= 1:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(2)
    raise AssertionError(f"Flink at {base_url} did not come back within {timeout:.0f}s")


def job_states(base_url: str, job_ids: Iterable[str]) -> dict[str, str]:
    """Each job's state, fully RUNNING meaning every task runs too; "-" while the
    JobManager does not answer (dead, starting, or not yet the leader)."""
    states = {}
    with FlinkRest(base_url, timeout=3) as flink:
        for job_id in job_ids:
            try:
                details = flink.job(job_id)
            except FlinkRestError:
                states[job_id] = "-"
                continue
            states[job_id] = "RUNNING" if details.fully_running else details.state
    return states


def wait_for_jobs_running(base_url: str, job_ids: Iterable[str], timeout: float) -> float:
    """Seconds until every one of the jobs runs again with all its tasks; fails after
    `timeout` with the state each one was last seen in."""
    ids = list(job_ids)
    started = time.monotonic()
    states: dict[str, str] = {}
    while time.monotonic() - started < timeout:
        states = job_states(base_url, ids)
        if all(state == "RUNNING" for state in states.values()):
            return time.monotonic() - started
        time.sleep(1)
    raise AssertionError(f"jobs not running again within {timeout:.0f}s: {states}")
