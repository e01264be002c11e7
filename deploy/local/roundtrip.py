"""The platform's round trip: `python -m deploy.local.roundtrip`.

Events produced to Kafka, read by a bounded Flink SQL job on the standalone cluster,
written to Iceberg, and counted through Trino: a quick check that every part talks to
the others.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition

from contracts.paths import SQL_DIR
from deploy.local.clients import flink_sql_command
from deploy.local.settings import StackSettings
from flink_jobs.sql_template import render_sql_file
from lakehouse.clients import trino_connection
from lakehouse.settings import LakehouseSettings
from streaming.settings import KafkaSettings
from streaming.topics import ensure_topics

SQL = SQL_DIR / "roundtrip.sql"
TOPIC = "platform.roundtrip"
TABLE = "platform_roundtrip"
EVENTS = 1000


def produce_events(bootstrap: str, topic: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    for n in range(count):
        event = {"event_id": str(uuid.uuid4()), "amount": f"{(n % 500) + 0.99:.2f}"}
        producer.produce(topic, key=event["event_id"], value=json.dumps(event))
    if producer.flush(30) != 0:
        raise RuntimeError("Kafka did not acknowledge every round-trip event")


def topic_message_count(bootstrap: str, topic: str) -> int:
    """Messages the topic holds: the sum over partitions of high minus low watermark."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "roundtrip-watermarks"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        total = 0
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            total += high - low
        return total
    finally:
        consumer.close()


def run_roundtrip_job(
    stack: StackSettings, lakehouse: LakehouseSettings, bootstrap: str, topic: str, table: str
) -> None:
    statements = render_sql_file(
        SQL,
        {
            "catalog": lakehouse.catalog_name,
            "topic": topic,
            "bootstrap_servers": bootstrap,
            "namespace": lakehouse.namespace,
            "table": table,
        },
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(statements)
        script.flush()
        command, env = flink_sql_command(stack, ["-f", script.name])
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0 or "[ERROR]" in result.stdout:
        raise RuntimeError(f"the Flink SQL job failed:\n{result.stdout}{result.stderr}")


def main() -> int:
    stack, lakehouse, kafka = StackSettings(), LakehouseSettings(), KafkaSettings()
    bootstrap = kafka.bootstrap_servers
    print(f"roundtrip: producing {EVENTS} events to Kafka topic {TOPIC}")
    ensure_topics(kafka, names=(TOPIC,), report=lambda _: None)
    produce_events(bootstrap, TOPIC, EVENTS)
    print(
        f"roundtrip: Flink SQL job Kafka -> {lakehouse.catalog_name}.{lakehouse.namespace}.{TABLE} "
        f"(watch it at http://127.0.0.1:{stack.flink_rest_port})"
    )
    run_roundtrip_job(stack, lakehouse, bootstrap, TOPIC, TABLE)
    cursor = trino_connection(lakehouse).cursor()
    cursor.execute(f"SELECT count(*), count(DISTINCT event_id), sum(amount) FROM {TABLE}")
    rows, distinct, total = cursor.fetchone()
    in_topic = topic_message_count(bootstrap, TOPIC)
    print(
        f"roundtrip: the topic holds {in_topic} events; Trino sees {rows} rows "
        f"({distinct} distinct, amount total {total}) in "
        f"{lakehouse.catalog_name}.{lakehouse.namespace}.{TABLE}"
    )
    if rows != in_topic:
        print("roundtrip: error: the table does not match the topic", file=sys.stderr)
        return 1
    print("roundtrip: the platform keeps running; `make status` shows it, `make down` stops it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
