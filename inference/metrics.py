"""Prometheus metrics, in a registry of the app's own (tests build several apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# A path no route matched: one label value, so scanners cannot blow up the series count.
UNMATCHED = "unmatched"


class InferenceMetrics:
    def __init__(self, model_version: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "inference_requests",
            "HTTP requests by endpoint (route path) and status code.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "inference_request_duration_seconds",
            "Time from a request's arrival to its answer.",
            ["endpoint"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.scored_events = Counter(
            "inference_scored_events",
            "Events scored, by endpoint (a batch counts each of its events).",
            ["endpoint"],
            registry=self.registry,
        )
        self.model_info = Gauge(
            "inference_model_info",
            "1 for the model version the service scores with.",
            ["model_version"],
            registry=self.registry,
        )
        self.model_info.labels(model_version=model_version).set(1)
