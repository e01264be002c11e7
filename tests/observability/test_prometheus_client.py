"""The Prometheus client against answers shaped like Prometheus's HTTP API (the edge)."""

from __future__ import annotations

import httpx
import pytest

from observability.prometheus import PrometheusClient, PrometheusError


def client(handler: httpx.MockTransport) -> PrometheusClient:
    return PrometheusClient("http://prom:9090/", client=httpx.Client(transport=handler))


def answer(data: object) -> httpx.Response:
    return httpx.Response(200, json={"status": "success", "data": data})


def test_instant_query_returns_each_series_with_its_labels() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(
            {
                "resultType": "vector",
                "result": [{"metric": {"group": "g"}, "value": [1700000000.0, "42"]}],
            }
        )

    samples = client(httpx.MockTransport(handle)).query("sum by (group) (lag)")
    assert [(s.labels, s.value) for s in samples] == [({"group": "g"}, 42.0)]
    assert seen[0].url.path == "/api/v1/query"
    assert seen[0].url.params["query"] == "sum by (group) (lag)"


def test_value_insists_on_one_series() -> None:
    two = {
        "resultType": "vector",
        "result": [
            {"metric": {"a": "1"}, "value": [0, "1"]},
            {"metric": {"a": "2"}, "value": [0, "2"]},
        ],
    }
    prom = client(httpx.MockTransport(lambda r: answer(two)))
    with pytest.raises(PrometheusError, match="2 series"):
        prom.value("x")
    empty = client(httpx.MockTransport(lambda r: answer({"resultType": "vector", "result": []})))
    assert empty.value("x", default=0.0) == 0.0


def test_range_query_returns_points() -> None:
    data = {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "1"], [2, "3"]]}]}
    prom = client(httpx.MockTransport(lambda r: answer(data)))
    [series] = prom.query_range("x", 1, 2, 1)
    assert series.points == [(1.0, 1.0), (2.0, 3.0)]


def test_errors_are_raised_with_prometheus_own_words() -> None:
    refused = httpx.Response(
        400, json={"status": "error", "errorType": "bad_data", "error": "parse error"}
    )
    prom = client(httpx.MockTransport(lambda r: refused))
    with pytest.raises(PrometheusError, match="bad_data: parse error"):
        prom.query("sum(")

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(PrometheusError, match="did not answer"):
        client(httpx.MockTransport(down)).query("up")
