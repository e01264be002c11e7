"""Reading Prometheus over its HTTP API: instant and range queries, alerts, targets.

Used by the console and the Dagster monitoring assets; one small client, so each of them
reads the same series (`observability.series`) the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


class PrometheusError(RuntimeError):
    """Prometheus did not answer, or answered with an error."""


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]  # (unix seconds, value)


@dataclass(frozen=True)
class Alert:
    name: str
    state: str  # pending, firing
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Target:
    job: str
    health: str  # up, down, unknown
    url: str
    last_error: str


class PrometheusClient:
    def __init__(
        self, url: str, *, timeout: float = 5.0, client: httpx.Client | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout)

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        try:
            response = self._client.get(f"{self.url}{path}", params=params)
        except httpx.HTTPError as exc:
            raise PrometheusError(f"Prometheus at {self.url} did not answer: {exc}") from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise PrometheusError(
                f"Prometheus answered {response.status_code} with no JSON to {path}"
            ) from exc
        if body.get("status") != "success":
            raise PrometheusError(
                f"Prometheus refused {path} {params or ''}: "
                f"{body.get('errorType')}: {body.get('error')}"
            )
        return body["data"]

    def query(self, promql: str, *, at: float | None = None) -> list[Sample]:
        """The query's samples now, or at `at` (unix seconds): the same `at` gives the same
        answer once Prometheus holds the data up to it."""
        params = {"query": promql}
        if at is not None:
            params["time"] = repr(float(at))
        data = self._get("/api/v1/query", params)
        if data["resultType"] == "scalar":
            return [Sample({}, float(data["result"][1]))]
        return [Sample(r["metric"], float(r["value"][1])) for r in data["result"]]

    def value(
        self, promql: str, default: float | None = None, *, at: float | None = None
    ) -> float | None:
        """The one value of a query that yields a single sample (or `default` for none)."""
        samples = self.query(promql, at=at)
        if not samples:
            return default
        if len(samples) > 1:
            raise PrometheusError(f"{promql} yields {len(samples)} series, not one")
        return samples[0].value

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[Series]:
        data = self._get(
            "/api/v1/query_range",
            {"query": promql, "start": str(start), "end": str(end), "step": str(step)},
        )
        return [
            Series(r["metric"], [(float(t), float(v)) for t, v in r["values"]])
            for r in data["result"]
        ]

    def alerts(self) -> list[Alert]:
        data = self._get("/api/v1/alerts")
        return [
            Alert(a["labels"].get("alertname", ""), a["state"], a["labels"], float(a["value"]))
            for a in data["alerts"]
        ]

    def targets(self) -> list[Target]:
        data = self._get("/api/v1/targets", {"state": "active"})
        return [
            Target(t["labels"].get("job", ""), t["health"], t["scrapeUrl"], t.get("lastError", ""))
            for t in data["activeTargets"]
        ]
