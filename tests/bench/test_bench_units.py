"""The benchmarks' pure parts: percentiles, settings and flags, the RESULTS.md rewrite,
the generated messages, the load generator's request and its schedule against a real
local server."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import stripe
import uvicorn

from bench import openloop
from bench.cli import build_parser, selected, settings_from
from bench.footprint import children_by_parent, descendants, rss_by_service, rss_kib
from bench.gateway import BARE_APP, free_port, serving, signed_target, vegeta_step
from bench.machine import cpu_model, memory_total_gib
from bench.messages import payloads
from bench.openloop import Pool, Spec, build_request, drive
from bench.report import (
    BEGIN,
    END,
    current_figures,
    render_figures,
    replace_figures,
    rerender,
    sections_of,
    write_run_file,
)
from bench.results import Result, format_table, percentile, summarise, write_json
from bench.sampling import tree_usage
from bench.settings import BenchSettings
from bench.vegeta import vegeta_bin
from contracts.events import EVENT_TYPES
from validation.python_rules import validate


def test_nearest_rank_percentiles():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 95) == 7.0
    assert math.isnan(percentile([], 50))
    assert summarise([3, 1, 2])["max"] == 3


def test_quick_shrinks_and_flags_win(monkeypatch):
    monkeypatch.setenv("BENCH_TRINO_ROWS", "5000")
    args = build_parser().parse_args(
        ["--quick", "--gateway-rates", "10,20", "--flink-messages", "777"]
    )
    settings = settings_from(args)
    assert settings.gateway_rates == [10, 20]
    assert settings.flink_messages == 777
    assert settings.trino_rows == BenchSettings().quick().trino_rows
    assert BenchSettings().trino_rows == 5000  # env is read when not quick


def test_full_size_defaults_are_the_issues():
    settings = BenchSettings()
    assert settings.gateway_rates == [500, 1000, 2000, 4000]
    assert settings.flink_messages == 2_000_000
    assert settings.trino_rows == 1_000_000
    assert settings.freshness_checkpoint_intervals == ["5s", "1s"]


def test_unknown_benchmark_is_refused():
    assert selected("trino,gateway") == ["gateway", "trino"]
    with pytest.raises(SystemExit):
        selected("gateway,nope")


def test_figures_section_is_replaced_and_the_rest_kept():
    document = f"# Title\n\nintro\n\n{BEGIN}\nold figures\n{END}\n\n## After\n"
    updated = replace_figures(document, "new figures\n")
    assert "old figures" not in updated and "new figures" in updated
    assert updated.startswith("# Title\n\nintro") and updated.endswith("## After\n")
    assert replace_figures(updated, "again\n").count(BEGIN) == 1


def test_rendered_figures_show_unmeasured_reasons_and_tables():
    machine = {"cpu_model": "cpu", "cpus": 2, "memory_gib": 8.0, "kernel": "6", "versions": {}}
    results = [
        Result(name="trino", measured=True, rows=[{"query": "count", "p50_ms": 12.5}]),
        Result.not_measured("sidestream", "no workflows"),
    ]
    text = render_figures(results, machine, Path("/tmp/run"), "python -m bench")
    assert "| query | p50_ms |" in text and "| count | 12.5 |" in text
    assert "Not measured: no workflows" in text
    assert "count  12.5" in format_table(results[0].rows)


def test_a_partial_run_rewrites_its_sections_and_keeps_the_others():
    machine = {"cpu_model": "cpu", "cpus": 2, "memory_gib": 8.0, "kernel": "6", "versions": {}}
    full = render_figures(
        [
            Result(name="gateway", measured=True, rows=[{"target_rps": 500, "p99_ms": 9.0}]),
            Result(name="trino", measured=True, rows=[{"query": "count", "p50_ms": 12.5}]),
        ],
        machine,
        Path("/tmp/full"),
        "python -m bench",
    )
    partial = render_figures(
        [Result(name="gateway", measured=True, rows=[{"target_rps": 500, "p99_ms": 4.0}])],
        machine,
        Path("/tmp/partial"),
        "python -m bench --only gateway",
        previous=full,
    )
    gateway, trino = sections_of(partial)["gateway"], sections_of(partial)["trino"]
    assert "| 500 | 4 |" in gateway and "--only gateway" in gateway and "9.0" not in gateway
    assert trino == sections_of(full)["trino"] and "/tmp/full" in trino
    assert partial.index("### gateway") < partial.index("### trino")  # benchmark order


def test_saved_runs_render_again_later_runs_over_earlier_ones(tmp_path):
    machine = {"cpu_model": "cpu", "cpus": 2, "memory_gib": 8.0, "kernel": "6", "versions": {}}
    older, newer = tmp_path / "run1", tmp_path / "run2"
    for run_dir, p99 in ((older, 9.0), (newer, 4.0)):
        run_dir.mkdir()
        plot = run_dir / "gateway_latency.png"
        plot.write_bytes(f"png {p99}".encode())
        write_json(run_dir / "machine.json", machine)
        result = Result(name="gateway", measured=True, rows=[{"p99_ms": p99}], plots=[str(plot)])
        write_json(run_dir / "gateway.json", result.to_json())
    write_json(older / "trino.json", Result(name="trino", measured=True, rows=[{"q": 1}]).to_json())
    write_run_file(newer, "python -m bench --only gateway")
    results_md = tmp_path / "RESULTS.md"
    results_md.write_text(f"# Results\n\n{BEGIN}\n{END}\n")

    rerender([older, newer], results_md)

    sections = sections_of(current_figures(results_md))
    assert "| 4 |" in sections["gateway"] and "--only gateway" in sections["gateway"]
    assert f"Plot: `{newer / 'gateway_latency.png'}`" in sections["gateway"]
    assert "| 1 |" in sections["trino"]  # the older run's, kept


def test_generated_messages_have_the_asked_share_of_invalid_ones():
    for t in EVENT_TYPES:
        values = [v.decode() for v in payloads(t.name, 1000, invalid_share=0.1)]
        invalid = sum(not validate(t, v).valid for v in values)
        assert invalid == 100, t.name
        assert len(set(values)) == 1000  # every message is its own event


def test_requests_carry_a_valid_stripe_signature():
    spec = Spec("127.0.0.1", 1, "/webhooks/stripe", 1, 1, 1, secret="whsec_x")
    request = build_request(spec, 42)
    head, body = request.split(b"\r\n\r\n", 1)
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    assert int(headers["Content-Length"]) == len(body)
    assert json.loads(body)["id"] == "evt_bench0000000000000042"
    # Stripe's own library is the judge (the gateway's signing function made the header).
    assert stripe.WebhookSignature.verify_header(
        body.decode(), headers["Stripe-Signature"], "whsec_x", tolerance=300
    )


async def slow_app(scope, receive, send):
    """Answers after 200 ms: a server an open-loop client must not wait for."""
    if scope["type"] != "http":
        return
    await receive()
    await asyncio.sleep(0.2)
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_open_loop_keeps_its_schedule_when_the_server_is_slow():
    port = free_port()
    config = uvicorn.Config(
        slow_app, host="127.0.0.1", port=port, log_level="error", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.05)
    try:
        # 100 req/s for 1 s, each answered after 200 ms: a closed loop on 2 connections
        # would manage ~10/s; the open loop sends all 100 within about a second.
        spec = Spec("127.0.0.1", port, "/", 100, 1.0, 200, kind="plain")
        result = asyncio.run(drive(spec))
    finally:
        server.should_exit = True
        thread.join(10)
    assert result["ok"] == 100 and result["errors"] == 0
    assert result["statuses"] == {"202": 100}
    assert result["latency_ms"]["p50"] >= 200
    assert result["wall_seconds"] < 2.0


def test_a_pooled_connection_idle_too_long_is_replaced_not_reused(monkeypatch):
    """The server may be closing it (keep-alive timeout): reusing it would fail a request."""

    async def scenario() -> None:
        server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = Pool(Spec("127.0.0.1", port, "/", 1, 1.0, 1, kind="plain"))
        try:
            first = await pool.acquire()
            await pool.release(first)
            monkeypatch.setattr(openloop, "MAX_IDLE_SECONDS", 60.0)
            assert await pool.acquire() is first  # recently used: reused
            await pool.release(first)
            await asyncio.sleep(0.05)
            monkeypatch.setattr(openloop, "MAX_IDLE_SECONDS", 0.01)
            second = await pool.acquire()
            assert second is not first and first.writer.is_closing()
            assert pool.opened == 1  # replaced, so still within max_connections
            second.close()
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())


def test_machine_facts_are_read_from_proc_text():
    assert cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n") == "AMD EPYC 7B13"
    assert memory_total_gib("MemTotal:       24641536 kB\n") == 23.5


def test_a_service_tree_includes_its_children_and_their_memory():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        tree = children_by_parent()
        found = descendants(os.getpid(), tree)
        assert os.getpid() in found and child.pid in found
        mib = rss_by_service({"me": os.getpid()})["me"]
        assert mib > rss_kib(os.getpid()) / 1024  # the child's memory counts too
    finally:
        child.kill()
        child.wait()


def test_a_vegeta_target_is_a_signed_stripe_webhook():
    target = json.loads(signed_target(8000, 7, "whsec_y", int(time.time())))
    body = base64.b64decode(target["body"]).decode()
    assert target["url"] == "http://127.0.0.1:8000/webhooks/stripe"
    assert json.loads(body)["id"] == "evt_bench0000000000000007"
    assert stripe.WebhookSignature.verify_header(
        body, target["header"]["Stripe-Signature"][0], "whsec_y", tolerance=300
    )


def test_a_vegeta_step_against_the_bare_app_counts_every_request(tmp_path):
    if not vegeta_bin().exists():
        pytest.fail(f"vegeta is not built at {vegeta_bin()}: run `make setup`")
    settings = BenchSettings().quick()
    with serving(BARE_APP, {}, 2, tmp_path / "bare.log") as (port, pid):
        assert tree_usage({"bare": pid})["bare"].rss_mib > 0
        figures = vegeta_step(port, 50, settings, "whsec_z", tmp_path)
    # 50/s for the quick step's 2 s, every one answered 200 by the bare app.
    assert figures["requests"] == 100 and figures["ok"] == 100 and figures["errors"] == 0
    assert figures["statuses"] == {"200": 100}
    # Successes over the attack plus the wait for the last answers: below 50/s on a busy box.
    assert 30 <= figures["achieved_rate"] <= 60
    assert 0 < figures["latency_ms"]["p50"] <= figures["latency_ms"]["p99"] < 5000
    assert figures["client_cpu_percent"] > 0
    assert not list(tmp_path.glob("vegeta-*"))  # targets and results removed
