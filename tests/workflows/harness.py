"""Shared parts of the side stream's integration tests: the worker, bridge and inference
service as killable subprocesses, and readers for the enriched topic. Unified events come
from `bench.messages.unified_event`, which the side-stream benchmark sends too."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from confluent_kafka import Consumer, Producer

from contracts.paths import REPO_ROOT
from streaming.settings import KafkaSettings, TopicSettings
from streaming.topics import delete_topics, ensure_topics
from workflows.activities import PERSISTENCE_RETRIES_METRIC
from workflows.attempts_store import drop_attempts_table
from workflows.claims_store import drop_claims_table
from workflows.cleanup import terminate_running
from workflows.settings import WorkflowSettings

TEMPORAL = "127.0.0.1:7233"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def produce_events(bootstrap: str, topic: str, events: list[dict]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for event in events:
        producer.produce(topic, key=event["merchant_id"], value=json.dumps(event).encode())
        producer.poll(0)
    assert producer.flush(60) == 0


class TopicReader:
    """Reads the enriched topic from the beginning, accumulating across calls."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.messages: list[dict] = []
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"reader-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        self._consumer.subscribe([topic])

    def read_until(self, event_ids: set[str], timeout: float) -> dict[str, list[dict]]:
        """Every result read so far, by event_id, once `event_ids` all have one (or at the
        timeout); then a little longer, so duplicates would show too."""
        deadline = time.monotonic() + timeout
        settle_until: float | None = None
        while time.monotonic() < (settle_until or deadline):
            for message in self._consumer.consume(500, 0.5):
                assert message.error() is None, message.error()
                raw, key = message.value(), message.key()
                assert raw is not None and key is not None
                result = json.loads(raw)
                assert key.decode() == result["event_id"]
                self.messages.append(result)
            if settle_until is None and event_ids <= {m["event_id"] for m in self.messages}:
                settle_until = time.monotonic() + 3
        by_event: dict[str, list[dict]] = {}
        for enrichment in self.messages:
            by_event.setdefault(enrichment["event_id"], []).append(enrichment)
        return by_event

    def close(self) -> None:
        self._consumer.close()


@dataclass
class Service:
    """One of the side stream's processes, killable without warning."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_dir: Path
    process: subprocess.Popen | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        log = (self.log_dir / f"{self.name}.{self.starts}.log").open("w")
        self.process = subprocess.Popen(
            self.argv, env=self.env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
        )

    def kill9(self) -> None:
        assert self.process is not None and self.process.poll() is None, self.logs()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def assert_running(self) -> None:
        assert self.process is not None and self.process.poll() is None, self.logs()

    def log_count(self, text: str) -> int:
        """How often `text` appears in the logs of the current run."""
        current = self.log_dir / f"{self.name}.{self.starts}.log"
        return current.read_text().count(text) if current.exists() else 0

    def logs(self) -> str:
        return "\n".join(
            p.read_text()[-3000:] for p in sorted(self.log_dir.glob(f"{self.name}.*.log"))
        )


@dataclass
class SideStream:
    """A side stream of the test's own: topics, task queue, group and attempts table."""

    suffix: str
    bootstrap: str
    source_topic: str
    sink_topic: str
    task_queue: str
    recovery_table: str
    inference_port: int
    log_dir: Path
    settings_env: dict[str, str]
    services: list[Service] = field(default_factory=list)

    @property
    def inference_url(self) -> str:
        return f"http://127.0.0.1:{self.inference_port}"

    def settings(self) -> WorkflowSettings:
        return WorkflowSettings.model_validate(
            {k.removeprefix("WORKFLOWS_").lower(): v for k, v in self.settings_env.items()}
        )

    def service(self, name: str, *module_args: str) -> Service:
        env = os.environ | self.settings_env | {"PYTHONUNBUFFERED": "1"}
        service = Service(name, [sys.executable, "-m", *module_args], env, self.log_dir)
        self.services.append(service)
        return service

    def worker(self) -> Service:
        return self.service("worker", "workflows.worker")

    def bridge(self) -> Service:
        return self.service("bridge", "workflows.bridge")

    def inference(self) -> Service:
        return self.service(
            "inference",
            "uvicorn",
            "inference.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.inference_port),
        )

    def wait_for_inference(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.inference_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"the inference service did not become healthy in {timeout}s")

    def model_scores(self, events: list[dict]) -> dict[str, dict]:
        """What the model says about each event, asked directly."""
        response = httpx.post(
            f"{self.inference_url}/v1/score/batch", json={"events": events}, timeout=60
        )
        response.raise_for_status()
        return {r["event_id"]: r for r in response.json()["results"]}


def side_stream(tmp_path: Path, **overrides: str) -> Iterator[SideStream]:
    """Creates the stream's topics; afterwards stops its processes, terminates its
    still-running workflows and deletes its topics and attempts table."""
    suffix = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(topics=TopicSettings(partitions=3))
    stream = SideStream(
        suffix=suffix,
        bootstrap=kafka.bootstrap_servers,
        source_topic=f"it.{suffix}.payments.normalized",
        sink_topic=f"it.{suffix}.payments.enriched",
        task_queue=f"it-enrichment-{suffix}",
        recovery_table=f"it_recovery_attempts_{suffix}",
        inference_port=free_port(),
        log_dir=tmp_path,
        settings_env={},
    )
    stream.settings_env = {
        "WORKFLOWS_TEMPORAL_ADDRESS": TEMPORAL,
        "WORKFLOWS_TASK_QUEUE": stream.task_queue,
        "WORKFLOWS_SOURCE_TOPIC": stream.source_topic,
        "WORKFLOWS_SINK_TOPIC": stream.sink_topic,
        "WORKFLOWS_CONSUMER_GROUP": f"it-bridge-{suffix}",
        "WORKFLOWS_INFERENCE_URL": stream.inference_url,
        "WORKFLOWS_RECOVERY_TABLE": stream.recovery_table,
        "WORKFLOWS_CLAIMS_TABLE": f"it_enrichment_claims_{suffix}",
        "WORKFLOWS_BATCH_SIZE": "50",
        "WORKFLOWS_BATCH_MAX_WAIT_SECONDS": "1",
        "WORKFLOWS_BRIDGE_RETRY_SECONDS": "1",
        "WORKFLOWS_INFERENCE_RETRY_INITIAL_SECONDS": "0.2",
        "WORKFLOWS_INFERENCE_RETRY_MAX_SECONDS": "0.5",
        "WORKFLOWS_RECOVERY_DELAY_SCALE": "0.001",
    } | overrides
    ensure_topics(kafka, names=(stream.source_topic, stream.sink_topic), report=lambda _: None)
    try:
        yield stream
    finally:
        for service in stream.services:
            service.stop()
        asyncio.run(terminate_running(TEMPORAL, stream.task_queue, "test cleanup"))
        delete_topics(kafka, (stream.source_topic, stream.sink_topic))
        settings = stream.settings()
        drop_attempts_table(settings.postgres_dsn, stream.recovery_table)
        drop_claims_table(settings.postgres_dsn, settings.claims_table)


def persistence_retries(metrics_port: int, activity: str) -> float:
    """A worker's persistence-retry counter for one activity, from its Prometheus page."""
    try:
        page = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).text
    except httpx.TransportError:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in page.splitlines()
        if line.startswith(PERSISTENCE_RETRIES_METRIC) and f'activity="{activity}"' in line
    )


def wait_until(predicate, timeout: float, interval: float = 0.5, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {message}")
        time.sleep(interval)
