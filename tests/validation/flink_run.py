"""Runs SQL statements and queries on an in-process Flink mini cluster (`flink_harness.py`).

Messages are given as bytes and read from a JSON-lines file through the same column
definitions as the Kafka sources (`raw_payload_column`), so what is tested is what the
jobs compute from Kafka's bytes.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from tests.flink_venv import run_harness
from validation.flink_sql import raw_payload_column

HARNESS = Path(__file__).with_name("flink_harness.py")

Rows = list[list[str | None]]


def message_file_table(name: str, messages: list[bytes | None], folder: Path) -> str:
    """A table `name` of (message, payload, kafka_offset): offset i is messages[i]."""
    path = folder / f"{name}.jsonl"
    lines = []
    for offset, message in enumerate(messages):
        encoded = None if message is None else base64.b64encode(message).decode()
        lines.append(json.dumps({"message": encoded, "kafka_offset": offset}) + "\n")
    path.write_text("".join(lines))
    return (
        f"CREATE TEMPORARY TABLE {name} ({raw_payload_column()}, kafka_offset BIGINT)"
        f" WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'json')"
    )


def run_sql(
    statements: list[str], queries: dict[str, str], folder: Path, timeout: float
) -> tuple[dict[str, Rows], float]:
    """Each query's rows (values as text) and the seconds the whole run took."""
    job = {"statements": statements, "queries": queries}
    started = time.monotonic()
    out = run_harness(HARNESS, job, folder, timeout)
    elapsed = time.monotonic() - started
    return out, elapsed
