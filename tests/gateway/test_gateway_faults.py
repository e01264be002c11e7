"""A gateway killed (kill -9) and started again while a provider keeps sending.

The provider behaves as Stripe does: it retries a webhook until it gets a 2xx. After the
restart every event is in `payments.stripe.raw` (no loss), and an event is there more
than once only if one of its attempts failed (the gateway may have written it before it
died; the normalisation job drops such redeliveries by provider event id).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer

from bench.gateway import free_port, gateway_env, prefixed_topics, wait_until_answering
from bench.openloop import stripe_body
from contracts.paths import REPO_ROOT
from gateway.providers.stripe import sign_stripe
from streaming.settings import KafkaSettings
from tests.gateway.test_gateway_fuzz import end_offsets, read_mine

pytestmark = pytest.mark.integration

SECRET = "whsec_fault_" + os.urandom(8).hex()
PREFIX = f"fault.{os.urandom(4).hex()}."
RAW = f"{PREFIX}payments.stripe.raw"
EVENTS = 600


def start_gateway(port: int, log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gateway.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=REPO_ROOT, env={**os.environ, **gateway_env(SECRET, PREFIX)},
        stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    wait_until_answering(port, process, log)
    return process


def deliver(url: str, n: int, run: str, attempts: Counter[str]) -> None:
    """One event, retried like a provider does until a 2xx (each attempt its own id)."""
    body = stripe_body(n).replace(b"evt_bench", f"evt_{run}_".encode())
    event_id = json.loads(body)["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        attempts[event_id] += 1
        headers = {
            **sign_stripe(body, (SECRET,), int(time.time())),
            "X-Request-Id": f"{run}-{n}-{attempts[event_id]}",
            "Content-Type": "application/json",
        }
        try:
            if httpx.post(url, content=body, headers=headers, timeout=10).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{event_id} never accepted")


@pytest.fixture
def topics():
    with prefixed_topics(PREFIX):
        yield


def test_gateway_kill_and_restart_under_load_loses_nothing(tmp_path, topics):
    probe = Consumer({"bootstrap.servers": KafkaSettings().bootstrap_servers, "group.id": "x"})
    start = end_offsets(probe, [RAW, f"{PREFIX}payments.ingestion.dlq"])
    probe.close()
    port, log, run = free_port(), tmp_path / "gateway.log", os.urandom(4).hex()
    url = f"http://127.0.0.1:{port}/webhooks/stripe"
    attempts: Counter[str] = Counter()
    gateway = start_gateway(port, log)

    def provider(offset: int) -> None:
        for n in range(offset, EVENTS, 4):
            deliver(url, n, run, attempts)
            time.sleep(0.03)  # ~100 events/s in all: the load spans the kill

    threads = [threading.Thread(target=provider, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    os.kill(gateway.pid, signal.SIGKILL)
    gateway.wait()
    time.sleep(1)
    gateway = start_gateway(port, log)
    try:
        for thread in threads:
            thread.join(180)
    finally:
        gateway.terminate()
        gateway.wait(15)

    request_ids = {f"{run}-{n}-{a}" for n in range(EVENTS) for a in range(1, 50)}
    found = read_mine(start, request_ids)
    written = Counter(json.loads(value)["id"] for topic, _, value, _ in found)
    assert all(topic == RAW for topic, _, _, _ in found)
    assert set(written) == set(attempts), "events lost"
    doubled = {event for event, count in written.items() if count > 1}
    assert all(attempts[event] > 1 for event in doubled), "a duplicate without a retry"
    assert any(count > 1 for count in attempts.values()), "the kill hit no request"
