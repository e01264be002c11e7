"""Faults on the shared platform's processes, through supervisord (which restarts them).

Only for the fault tests: each one disrupts everyone who uses the platform meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

import httpx

from bench.footprint import children_by_parent, descendants, service_pids
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
