"""The console's sources faked at their HTTP edge (httpx.MockTransport answering as
Prometheus's and Flink's REST APIs do), and Trino as a function of the SQL it is sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from observability.prometheus import PrometheusClient

PROMETHEUS_URL = "http://prometheus.test:9090"
FLINK_URL = "http://flink.test:8081"

Labels = dict[str, str]


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("Connection refused", request=request)


@dataclass
class FakePrometheus:
    """Answers instant and range queries by their PromQL, and the alerts, as Prometheus's
    HTTP API does; keeps every request it was sent."""

    instant: dict[str, list[tuple[Labels, str]]] = field(default_factory=dict)
    ranges: dict[str, list[tuple[Labels, list[tuple[float, str]]]]] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = request.url.params
        if request.url.path == "/api/v1/query":
            at = float(params.get("time", "0"))
            result = [
                {"metric": labels, "value": [at, value]}
                for labels, value in self.instant.get(params["query"], [])
            ]
            return success({"resultType": "vector", "result": result})
        if request.url.path == "/api/v1/query_range":
            result = [
                {"metric": labels, "values": [[t, v] for t, v in points]}
                for labels, points in self.ranges.get(params["query"], [])
            ]
            return success({"resultType": "matrix", "result": result})
        if request.url.path == "/api/v1/alerts":
            return success({"alerts": self.alerts})
        return httpx.Response(404, json={"status": "error", "error": "not found"})

    def client(self) -> PrometheusClient:
        return PrometheusClient(PROMETHEUS_URL, client=httpx.Client(transport=self.transport()))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def queries(self, path: str) -> list[httpx.QueryParams]:
        return [r.url.params for r in self.requests if r.url.path == path]


def success(data: object) -> httpx.Response:
    return httpx.Response(200, json={"status": "success", "data": data})


def prometheus_down() -> PrometheusClient:
    refusing = httpx.Client(transport=httpx.MockTransport(refused))
    return PrometheusClient(PROMETHEUS_URL, client=refusing)


@dataclass
class FakeFlink:
    """Flink's REST API: a JSON body (or an HTTP status) by path."""

    answers: dict[str, object] = field(default_factory=dict)

    def handle(self, request: httpx.Request) -> httpx.Response:
        answer = self.answers.get(request.url.path)
        if answer is None:
            return httpx.Response(404, json={"errors": ["Not found: " + request.url.path]})
        if isinstance(answer, int):
            return httpx.Response(answer, json={"errors": ["refused"]})
        return httpx.Response(200, content=json.dumps(answer).encode())

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=FLINK_URL, transport=httpx.MockTransport(self.handle))


def flink_down() -> httpx.Client:
    return httpx.Client(base_url=FLINK_URL, transport=httpx.MockTransport(refused))


def flink_job(jid: str, name: str, state: str, start_ms: int) -> dict[str, object]:
    return {"jid": jid, "name": name, "state": state, "start-time": start_ms, "end-time": -1}


def flink_checkpoints(ack_ms: int, duration_ms: int, failed: int) -> dict[str, object]:
    return {
        "counts": {"completed": 12, "failed": failed, "in_progress": 0},
        "latest": {
            "completed": {
                "id": 12,
                "status": "COMPLETED",
                "is_savepoint": False,
                "latest_ack_timestamp": ack_ms,
                "end_to_end_duration": duration_ms,
                "external_path": "file:///tmp/chk-12",
            },
            "savepoint": None,
            "failed": None,
            "restored": None,
        },
    }


@dataclass
class FakeTrino:
    """Answers each SQL text it knows; anything else is an error, as Trino would give."""

    answers: Mapping[str, list[tuple[Any, ...]]]
    sent: list[str] = field(default_factory=list)

    def __call__(self, sql: str) -> list[tuple[Any, ...]]:
        self.sent.append(sql)
        if sql not in self.answers:
            raise RuntimeError(f"no answer for: {sql[:80]}")
        return self.answers[sql]


def trino_down(sql: str) -> list[tuple[Any, ...]]:
    raise ConnectionRefusedError("Trino at 127.0.0.1:8080 refused the connection")


TrinoQuery = Callable[[str], list[tuple[Any, ...]]]


# -- one whole platform, every source answering -------------------------------------------

NOW = 1_750_000_000.25  # a page asked for at this instant
ACK_MS = 1_749_999_990_000
LONG_PAYLOAD = '{"note": "<script>alert(1)</script>", "pad": "' + "x" * 300 + '"}'
