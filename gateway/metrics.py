"""Prometheus metrics, in a registry of the app's own (tests build several apps)."""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Histogram


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
