"""The machine and the versions a run measured, read from /proc and the installed parts."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from deploy.local.settings import StackSettings
from lakehouse.settings import LakehouseSettings

PACKAGES = (
    "confluent-kafka",
    "fastapi",
    "uvicorn",
    "httpx",
    "pyiceberg",
    "trino",
    "temporalio",
    "hypothesis",
    "schemathesis",
)


def cpu_model(cpuinfo: str) -> str:
    match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return match.group(1).strip() if match else platform.processor() or "unknown"


def memory_total_gib(meminfo: str) -> float:
    match = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
    return round(int(match.group(1)) / 1024**2, 1) if match else float("nan")


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _flink_version(stack: StackSettings) -> str:
    try:
        response = httpx.get(f"http://127.0.0.1:{stack.flink_rest_port}/config", timeout=3)
        return str(response.json().get("flink-version", "?"))
    except (httpx.HTTPError, ValueError):
        return "not reachable"


def _trino_version(lakehouse: LakehouseSettings) -> str:
    try:
        url = f"http://{lakehouse.trino_host}:{lakehouse.trino_port}/v1/info"
        return str(httpx.get(url, timeout=3).json()["nodeVersion"]["version"])
    except (httpx.HTTPError, ValueError, KeyError):
        return "not reachable"


def _kafka_version(stack: StackSettings) -> str:
    """From the broker's jar name in the Kafka folder the stack runs (kafka_2.13-X.jar)."""
    for jar in sorted(stack.cache_dir.rglob("kafka_2.1*-*.jar")):
        match = re.match(r"kafka_2\.\d+-([\d.]+)\.jar$", jar.name)
        if match:
            return match.group(1)
    return "unknown"


def _java_version() -> str:
    try:
        result = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    first = (result.stderr or result.stdout).splitlines()
    return first[0] if first else "unknown"


def describe_machine() -> dict[str, Any]:
    stack = StackSettings()
    lakehouse = LakehouseSettings()
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    # The servers, capitalised apart from the Python packages (`trino` is both).
    versions["Flink"] = _flink_version(stack)
    versions["Trino server"] = _trino_version(lakehouse)
    versions["Kafka"] = _kafka_version(stack)
    versions["Java"] = _java_version()
    return {
        "cpu_model": cpu_model(_read("/proc/cpuinfo")),
        "cpus": os.cpu_count(),
        "memory_gib": memory_total_gib(_read("/proc/meminfo")),
        "kernel": platform.release(),
        "versions": versions,
    }
