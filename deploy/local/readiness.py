"""Real readiness checks: each asks the service itself whether it can do its job."""

from __future__ import annotations

import asyncio
import socket

import httpx
import psycopg

from deploy.local.settings import StackSettings
from lakehouse.clients import trino_connection
from lakehouse.settings import LakehouseSettings


class NotReady(Exception):
    """The service answered, or failed to, in a way that says it is not ready yet."""


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def postgres_ready(stack: StackSettings, lakehouse: LakehouseSettings) -> str:
    try:
        with psycopg.connect(
            host=lakehouse.catalog_db_host,
            port=lakehouse.catalog_db_port,
            user="postgres",
            password=stack.postgres_password,
            dbname="postgres",
            connect_timeout=2,
        ) as conn:
            version = conn.execute("show server_version").fetchone()
    except psycopg.OperationalError as exc:
        raise NotReady(str(exc).strip()) from exc
    return f"PostgreSQL {version[0] if version else '?'}"


def four_letter_word(host: str, port: int, word: str, timeout: float = 2.0) -> str:
    """ZooKeeper's answer to a four-letter command (the server closes after answering)."""
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(word.encode())
        chunks = []
        while chunk := conn.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def zookeeper_ready(stack: StackSettings, lakehouse: LakehouseSettings) -> str:
    """ZooKeeper serves requests: `srvr` answers with its mode only once it does."""
    try:
        answer = four_letter_word("127.0.0.1", stack.zookeeper_port, "srvr")
    except OSError as exc:
        raise NotReady(str(exc) or type(exc).__name__) from exc
    fields = dict(line.split(": ", 1) for line in answer.splitlines() if ": " in line)
    mode = fields.get("Mode")
    if mode not in ("standalone", "leader", "follower"):
        raise NotReady(answer.strip()[:200] or "no answer to srvr")
    version = fields.get("Zookeeper version", "?").split("-", 1)[0]
    return f"ZooKeeper {version} ({mode}), {fields.get('Node count', '?')} znodes"


def kafka_ready(stack: StackSettings, lakehouse: LakehouseSettings) -> str:
    from confluent_kafka.admin import AdminClient

    if not port_open("127.0.0.1", stack.kafka_port):
        raise NotReady("port closed")
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{stack.kafka_port}", "log_level": 0})
    try:
        metadata = admin.list_topics(timeout=3)
    except Exception as exc:
        raise NotReady(str(exc)) from exc
    if not metadata.brokers:
        raise NotReady("no broker in metadata")
    return f"{len(metadata.brokers)} broker, {len(metadata.topics)} topics"


def flink_ready(stack: StackSettings, lakehouse: LakehouseSettings) -> str:
    try:
        overview = httpx.get(f"http://127.0.0.1:{stack.flink_rest_port}/overview", timeout=3)
        overview.raise_for_status()
    except httpx.HTTPError as exc:
        raise NotReady(str(exc)) from exc
    body = overview.json()
    if (
        body.get("taskmanagers", 0) < 1
        or body.get("slots-total", 0) < stack.flink_taskmanager_slots
    ):
        raise NotReady(
            f"{body.get('taskmanagers', 0)} TaskManagers, {body.get('slots-total', 0)} slots"
        )
    return (
        f"Flink {body.get('flink-version')}: {body['taskmanagers']} TaskManager, "
        f"{body['slots-available']}/{body['slots-total']} slots free, "
        f"{body.get('jobs-running', 0)} jobs running"
    )


def trino_ready(stack: StackSettings, lakehouse: LakehouseSettings) -> str:
    try:
        info = httpx.get(f"http://{lakehouse.trino_host}:{lakehouse.trino_port}/v1/info", timeout=3)
        info.raise_for_status()
    except httpx.HTTPError as exc:
        raise NotReady(str(exc)) from exc
    if info.json().get("starting", True):
        raise NotReady("starting")
    try:
        cursor = trino_connection(lakehouse).cursor()
        cursor.execute(f"SHOW SCHEMAS FROM {lakehouse.catalog_name}")
        schemas = [row[0] for row in cursor.fetchall()]
    except Exception as exc:
        raise NotReady(f"catalog {lakehouse.catalog_name}: {exc}") from exc
    version = info.json().get("nodeVersion", {}).get("version")
    return f"Trino {version}, {len(schemas)} schemas in {lakehouse.catalog_name}"


def temporal_ready(stack: StackSettings, lakehouse: LakehouseSettings) -> str:
    from temporalio.client import Client

    async def check() -> None:
        client = await Client.connect(f"127.0.0.1:{stack.temporal_port}")
        await client.service_client.check_health()

    if not port_open("127.0.0.1", stack.temporal_port):
        raise NotReady("frontend port closed")
    try:
        asyncio.run(asyncio.wait_for(check(), timeout=5))
        httpx.get(f"http://127.0.0.1:{stack.temporal_ui_port}/", timeout=3).raise_for_status()
    except Exception as exc:
        raise NotReady(str(exc) or type(exc).__name__) from exc
    return "frontend healthy, UI up"


def http_ok(url: str) -> str:
    try:
        answer = httpx.get(url, timeout=3)
    except httpx.HTTPError as exc:
        raise NotReady(str(exc) or type(exc).__name__) from exc
    if answer.status_code != 200:
        raise NotReady(f"{url} answered {answer.status_code}: {answer.text[:200]}")
    return answer.text


def gateway_ready(stack: StackSettings, lakehouse: LakehouseSettings) -> str:
    http_ok(f"http://127.0.0.1:{stack.gateway_port}/ready")
    return "Kafka reachable, webhook topics present"


def inference_ready(stack: StackSettings, lakehouse: LakehouseSettings) -> str:
    import json

    health = json.loads(http_ok(f"http://127.0.0.1:{stack.inference_port}/health"))
    return f"model_version {health.get('model_version', '?')}"


def task_queue_pollers(address: str, namespace: str, task_queue: str) -> int:
    """How many workers poll the task queue for workflow tasks."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.client import Client

    async def pollers() -> int:
        client = await Client.connect(address)
        answer = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        return len(answer.pollers)

    try:
        return asyncio.run(asyncio.wait_for(pollers(), timeout=5))
    except Exception as exc:
        raise NotReady(str(exc) or type(exc).__name__) from exc


def group_members(bootstrap: str, group: str) -> int:
    """How many consumers are members of the Kafka consumer group."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        described = admin.describe_consumer_groups([group])[group].result(timeout=5)
    except Exception as exc:
        raise NotReady(str(exc)) from exc
    return len(described.members)


def worker_ready(stack: StackSettings, lakehouse: LakehouseSettings) -> str:
    """A worker polls the enrichment task queue."""
    from workflows.settings import WorkflowSettings

    settings = WorkflowSettings()
    queue = settings.task_queue
    if task_queue_pollers(settings.temporal_address, settings.temporal_namespace, queue) == 0:
        raise NotReady(f"no worker polls task queue {queue}")
    return f"polling task queue {queue}"


def bridge_ready(stack: StackSettings, lakehouse: LakehouseSettings) -> str:
    """The bridge is a member of its consumer group on payments.normalized."""
    from workflows.settings import WorkflowSettings

    settings = WorkflowSettings()
    group = settings.consumer_group
    if group_members(f"127.0.0.1:{stack.kafka_port}", group) == 0:
        raise NotReady(f"consumer group {group} has no member yet")
    return f"consumer group {group} reading {settings.source_topic}"


def pushgateway_ready(stack: StackSettings, lakehouse: LakehouseSettings) -> str:
    http_ok(f"http://127.0.0.1:{stack.pushgateway_port}/-/ready")
    return "accepting pushes"


def prometheus_ready(stack: StackSettings, lakehouse: LakehouseSettings) -> str:
    """Prometheus serves queries and has loaded its rules."""
    import json

    http_ok(f"http://127.0.0.1:{stack.prometheus_port}/-/ready")
    rules = json.loads(http_ok(f"http://127.0.0.1:{stack.prometheus_port}/api/v1/rules"))
    count = sum(len(g["rules"]) for g in rules["data"]["groups"])
    if count == 0:
        raise NotReady("no recording or alerting rule loaded")
    return f"{count} rules loaded"


def exporter_ready(stack: StackSettings, lakehouse: LakehouseSettings) -> str:
    from observability.series import EXPORTER_SOURCE_UP

    text = http_ok(f"http://127.0.0.1:{stack.exporter_port}/metrics")
    down = [
        line
        for line in text.splitlines()
        if line.startswith(EXPORTER_SOURCE_UP) and line.endswith(" 0.0")
    ]
    if down:
        raise NotReady(f"a source does not answer: {'; '.join(down)}")
    return "Kafka offsets and Iceberg tables read"


def console_ready(stack: StackSettings, lakehouse: LakehouseSettings) -> str:
    http_ok(f"http://127.0.0.1:{stack.console_port}/healthz")
    return "page served"
