"""Prometheus metrics, in a registry of the app's own (tests build several apps).

With several worker processes (GATEWAY_WORKERS > 1) each process writes its samples to
files under PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode, chosen when
the library is imported) and /metrics, answered by whichever process takes the request,
sums every process's files: totals, not one worker's share. `python -m gateway` sets the
directory (GATEWAY_METRICS_DIR, .run/gateway/metrics) up before it starts the workers.
"""

from __future__ import annotations

import os
import shutil
from enum import StrEnum
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # in the raw topic
    DLQ = "dlq"  # signed, but not routable: in the DLQ
    BAD_SIGNATURE = "bad_signature"  # 400, nothing written
    BAD_REQUEST = "bad_request"  # 400 for a malformed request (e.g. its Content-Length)
    TOO_LARGE = "too_large"  # 413
    UNAVAILABLE = "unavailable"  # 503, Kafka did not take the write
    OVERLOADED = "overloaded"  # 503, too many requests in flight already
    BODY_TIMEOUT = "body_timeout"  # 408, the body did not arrive in time
    NOT_CONFIGURED = "not_configured"  # 503, the provider has no secret configured


def prepare_multiprocess_dir(folder: Path) -> Path:
    """An empty folder for the workers' sample files (a previous run's are removed, so a
    restart's totals begin at 0), set in the environment the workers inherit."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_requests",
            "Webhook requests by provider and outcome.",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_request_duration_seconds",
            "Time from a webhook's arrival to its answer.",
            ["provider"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.produce_failures = Counter(
            "gateway_produce_failures",
            "Writes Kafka did not take (answered 503).",
            ["topic"],
            registry=self.registry,
        )
        self.producer_restarts = Counter(
            "gateway_producer_restarts",
            "Kafka producers replaced after a fatal error.",
            registry=self.registry,
        )
        # Set when this process writes its samples to files: /metrics then reads them all.
        self.multiprocess_dir = multiprocess_dir()

    def exposition(self) -> bytes:
        """The text /metrics answers: every worker's samples summed in multiprocess mode."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        totals = CollectorRegistry()
        MultiProcessCollector(totals, path=self.multiprocess_dir)
        return generate_latest(totals)
