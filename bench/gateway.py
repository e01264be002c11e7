"""The webhook gateway under open-loop load, beside a bare uvicorn app (the ceiling).

Both run on free ports in the same number of worker processes (the platform's
GATEWAY_WORKERS unless BENCH_GATEWAY_WORKERS says otherwise), with uvloop and httptools;
the gateway through its own launcher (`python -m gateway`, as the platform starts it),
with secrets made for the run and the platform's Kafka, writing to topics of the run's
own (GATEWAY_TOPIC_PREFIX). The load client is its own process per step: vegeta (the
default; targets signed at the start of the step, well inside Stripe's 300 s tolerance)
or `bench.openloop`; its CPU is reported beside the figures.
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.openloop import REQUEST_TIMEOUT, stripe_body
from bench.plots import line_plot
from bench.processes import running
from bench.results import Result
from bench.sampling import tree_usage
from bench.settings import BenchSettings
from bench.vegeta import json_target, vegeta_bin
from contracts.paths import REPO_ROOT
from contracts.topics import INGESTION_DLQ, WEBHOOK_RAW_TOPICS
from gateway.providers.stripe import sign_stripe
from streaming.settings import KafkaSettings
from streaming.topics import delete_topics, ensure_topics

GATEWAY_APP = "gateway.main:app"
BARE_APP = "bench.bare_app:app"
PATH = "/webhooks/stripe"
# Distinct signed webhooks a vegeta step cycles through (signing more costs seconds).
VEGETA_TARGETS = 20_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


GATEWAY_TOPICS = (*WEBHOOK_RAW_TOPICS.values(), INGESTION_DLQ)


def gateway_env(secret: str, topic_prefix: str) -> dict[str, str]:
    """Secrets made for the run; the topics the gateway writes carry the run's prefix."""
    return {
        "GATEWAY_STRIPE_WEBHOOK_SECRETS": secret,
        "GATEWAY_SQUARE_SIGNATURE_KEY": secrets.token_urlsafe(24),
        "GATEWAY_SQUARE_NOTIFICATION_URL": "http://127.0.0.1/webhooks/square",
        "GATEWAY_TOPIC_PREFIX": topic_prefix,
        "KAFKA_BOOTSTRAP_SERVERS": KafkaSettings().bootstrap_servers,
    }


@contextmanager
def prefixed_topics(prefix: str, extra: tuple[str, ...] = ()) -> Iterator[None]:
    """The gateway's topics under the prefix (and `extra` ones), deleted afterwards: the
    platform's own topics (and the jobs reading them) never see benchmark traffic."""
    kafka = KafkaSettings()
    names = tuple(prefix + name for name in GATEWAY_TOPICS) + extra
    ensure_topics(kafka, names=names, report=lambda _: None)
    try:
        yield
    finally:
        delete_topics(kafka, names)


@contextmanager
def serving(app: str, env: dict[str, str], workers: int, log: Path) -> Iterator[tuple[int, int]]:
    """The app on a free port in `workers` processes until the block ends, as (port, pid
    of the process tree); waits until it answers. The gateway starts as the platform
    starts it (its workers' metric files in a folder beside the log); any other app under
    uvicorn with the same loop and HTTP parser."""
    port = free_port()
    if app == GATEWAY_APP:
        argv = ["gateway"]
        env = {
            **env,
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(port),
            "GATEWAY_WORKERS": str(workers),
            "GATEWAY_METRICS_DIR": str(log.with_suffix(".metrics")),
        }
    else:
        argv = [
            "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
    with running(argv, env, log) as process:
        wait_until_answering(port, process, log)
        yield port, process.pid


def wait_until_answering(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}; see {log}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError(f"uvicorn on port {port} did not answer within 60 s; see {log}")


def signed_target(port: int, n: int, secret: str, signed_at: int) -> str:
    """One vegeta JSON target: a signed Stripe webhook, as bench.openloop sends it."""
    body = stripe_body(n)
    headers = {
        "Content-Type": "application/json",
        "X-Request-Id": f"bench{n:016x}",
        **sign_stripe(body, (secret,), signed_at),
    }
    return json.dumps(json_target(f"http://127.0.0.1:{port}{PATH}", body, headers))


def vegeta_figures(report: dict[str, Any], rate: int, client_cpu_percent: float) -> dict:
    """`vegeta report -type=json` as bench.openloop's figures (latency from the send)."""
    statuses = {str(code): int(n) for code, n in (report.get("status_codes") or {}).items()}
    ok = sum(n for code, n in statuses.items() if code.startswith("2"))
    latencies = report["latencies"]
    return {
        "target_rate": rate,
        "requests": int(report["requests"]),
        "sent_rate": float(report["rate"]),
        "ok": ok,
        "errors": int(report["requests"]) - ok,
        "statuses": statuses,
        "achieved_rate": float(report["throughput"]),
        "latency_ms": {
            key: latencies[field] / 1e6
            for key, field in (("p50", "50th"), ("p95", "95th"), ("p99", "99th"), ("max", "max"))
        },
        "client_cpu_percent": client_cpu_percent,
    }


def vegeta_step(port: int, rate: int, settings: BenchSettings, secret: str, out: Path) -> dict:
    """One step with vegeta: distinct webhooks (up to VEGETA_TARGETS, then repeated: the
    gateway does not deduplicate, the jobs downstream do) at `rate` for the step."""
    binary = vegeta_bin()
    if not binary.exists():
        raise RuntimeError(f"vegeta is not installed at {binary}: run `make setup`")
    targets, results = out / f"vegeta-{port}-{rate}.targets", out / f"vegeta-{port}-{rate}.bin"
    count = min(VEGETA_TARGETS, int(rate * settings.gateway_step_seconds))
    signed_at = int(time.time())
    targets.write_text(
        "".join(signed_target(port, n, secret, signed_at) + "\n" for n in range(count))
    )
    attack = [
        str(binary), "attack", "-format=json", f"-targets={targets}", f"-output={results}",
        f"-rate={rate}/1s", f"-duration={settings.gateway_step_seconds:g}s",
        f"-max-workers={settings.gateway_max_connections}", f"-timeout={REQUEST_TIMEOUT:g}s",
    ]  # fmt: skip
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    subprocess.run(attack, check=True, capture_output=True)
    wall, after = time.monotonic() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report = subprocess.run(
        [str(binary), "report", "-type=json", str(results)],
        check=True,
        capture_output=True,
        text=True,
    )
    targets.unlink()
    results.unlink()
    return vegeta_figures(json.loads(report.stdout), rate, 100 * cpu / wall)


def openloop_step(port: int, rate: int, settings: BenchSettings, secret: str) -> dict:
    spec = {
        "host": "127.0.0.1",
        "port": port,
        "path": PATH,
        "rate": rate,
        "seconds": settings.gateway_step_seconds,
        "max_connections": settings.gateway_max_connections,
        "kind": "stripe",
        "secret": secret,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bench.openloop", json.dumps(spec)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout))


def step(port: int, rate: int, settings: BenchSettings, secret: str, out: Path) -> dict:
    """One step of the settings' load client."""
    if settings.gateway_client == "vegeta":
        return vegeta_step(port, rate, settings, secret, out)
    return openloop_step(port, rate, settings, secret)


def sweep(app: str, env: dict[str, str], settings: BenchSettings, secret: str, out: Path) -> list:
    steps = []
    log = out / f"{app.split('.')[0]}.log"
    warm_up = settings.model_copy(update={"gateway_step_seconds": settings.gateway_warmup_seconds})
    with serving(app, env, settings.gateway_workers, log) as (port, pid):
        # Not counted: the first connections, the producer's first metadata and batches.
        step(port, min(settings.gateway_rates), warm_up, secret, out)
        for rate in settings.gateway_rates:
            before = tree_usage({app: pid})[app].cpu_seconds
            started = time.monotonic()
            figures = step(port, rate, settings, secret, out)
            used = tree_usage({app: pid})[app].cpu_seconds - before
            figures["server_cpu_percent"] = 100 * used / (time.monotonic() - started)
            print(
                f"  {app} {rate}/s: achieved {figures['achieved_rate']:.0f}/s, "
                f"p99 {figures['latency_ms']['p99']:.1f} ms, errors {figures['errors']}, "
                f"CPU: server {figures['server_cpu_percent']:.0f}%, "
                f"client {figures['client_cpu_percent']:.0f}%",
                flush=True,
            )
            steps.append(figures)
            time.sleep(1)  # let the server drain before the next step
    return steps


def run(settings: BenchSettings, out: Path) -> Result:
    secret = "whsec_" + secrets.token_hex(16)
    runs = {"bare uvicorn (ceiling)": sweep(BARE_APP, {}, settings, secret, out)}
    note = ""
    if (REPO_ROOT / "gateway" / "main.py").exists():
        prefix = f"bench.{secrets.token_hex(4)}."
        with prefixed_topics(prefix):
            runs["gateway"] = sweep(GATEWAY_APP, gateway_env(secret, prefix), settings, secret, out)
    else:
        note = " The gateway (gateway/main.py) does not exist yet: only the ceiling is measured."
    rows = [
        {
            "app": app,
            "target_rps": figures["target_rate"],
            "achieved_rps": figures["achieved_rate"],
            "p50_ms": figures["latency_ms"]["p50"],
            "p95_ms": figures["latency_ms"]["p95"],
            "p99_ms": figures["latency_ms"]["p99"],
            "errors": figures["errors"],
            "server_cpu_%": figures["server_cpu_percent"],
            "client_cpu_%": figures["client_cpu_percent"],
        }
        for app, steps in runs.items()
        for figures in steps
    ]
    plot = line_plot(
        out / "gateway_latency.png",
        {
            f"{app} p99": (
                [s["target_rate"] for s in steps],
                [s["latency_ms"]["p99"] for s in steps],
            )
            for app, steps in runs.items()
        },
        title="Open-loop load: p99 latency from the scheduled send time",
        xlabel="target requests/s",
        ylabel="ms",
        log_y=True,
    )
    latency_from = "the send" if settings.gateway_client == "vegeta" else "the scheduled send time"
    return Result(
        name="gateway",
        measured=True,
        reason=(
            f"Signed Stripe webhooks (~1 KB) to POST {PATH}, open loop (latency from "
            f"{latency_from}), {settings.gateway_step_seconds:g}s per step after a "
            f"{settings.gateway_warmup_seconds:g}s warm-up that is not counted, up to "
            f"{settings.gateway_max_connections} keep-alive connections, "
            f"{settings.gateway_workers} worker process(es) each, client "
            f"({settings.gateway_client}) in its own process on the same {os.cpu_count()} "
            "CPUs." + note
        ),
        rows=rows,
        data={"runs": runs},
        plots=[plot],
    )
