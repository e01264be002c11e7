"""The webhook gateway under open-loop load, beside a bare uvicorn app (the ceiling).

Both run as uvicorn subprocesses on free ports, one worker each; the gateway with
secrets made for the run and the platform's Kafka, writing to topics of the run's own
(GATEWAY_TOPIC_PREFIX). The load generator is its own process
(`bench.openloop`), one per step, sending signed Stripe webhooks at a fixed rate.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.plots import line_plot
from bench.processes import running
from bench.results import Result
from bench.settings import BenchSettings
from contracts.paths import REPO_ROOT
from contracts.topics import INGESTION_DLQ, WEBHOOK_RAW_TOPICS
from streaming.settings import KafkaSettings
from streaming.topics import delete_topics, ensure_topics

GATEWAY_APP = "gateway.main:app"
BARE_APP = "bench.bare_app:app"
PATH = "/webhooks/stripe"


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
def uvicorn(app: str, env: dict[str, str], workers: int, log: Path) -> Iterator[int]:
    """The app on a free port until the block ends; waits until it answers."""
    port = free_port()
    argv = [
        "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with running(argv, env, log) as process:
        wait_until_answering(port, process, log)
        yield port


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


def step(port: int, rate: int, settings: BenchSettings, secret: str) -> dict:
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


def sweep(app: str, env: dict[str, str], settings: BenchSettings, secret: str, out: Path) -> list:
    steps = []
    with uvicorn(app, env, settings.gateway_workers, out / f"{app.split('.')[0]}.log") as port:
        for rate in settings.gateway_rates:
            figures = step(port, rate, settings, secret)
            print(
                f"  {app} {rate}/s: achieved {figures['achieved_rate']:.0f}/s, "
                f"p99 {figures['latency_ms']['p99']:.1f} ms, errors {figures['errors']}",
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
    return Result(
        name="gateway",
        measured=True,
        reason=(
            f"Signed Stripe webhooks (~1 KB) to POST {PATH}, open loop (latency from the "
            f"scheduled send time), {settings.gateway_step_seconds:g}s per step, up to "
            f"{settings.gateway_max_connections} keep-alive connections, one uvicorn worker, "
            f"client in its own process on the same {os.cpu_count()} CPUs." + note
        ),
        rows=rows,
        data={"runs": runs},
        plots=[plot],
    )
