"""One case table through Flink SQL (on a mini cluster) and through Python: same answers."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from contracts.events import EVENT_TYPES, EventType, Kind
from contracts.tables import TIMESTAMPTZ, bronze_columns
from flink_jobs.ddl import function_statements
from tests.flink_venv import run_harness
from tests.validation.cases import EXPECTED, Case, all_cases
from validation.flink_sql import raw_payload_column, render_views
from validation.python_rules import stored_payload, validate

HARNESS = Path(__file__).with_name("flink_harness.py")
CASES = all_cases()
COMPARED = ("kafka_offset", "raw_payload", "reasons_csv", "rejection_reason", "rejection_reasons")


def compared_columns(t: EventType) -> list[tuple[str, str]]:
    skip = {"ingested_at", "kafka_partition", "kafka_offset", "kafka_timestamp"}
    return [(name, kind) for name, kind in bronze_columns(t) if name not in skip]


def message_bytes(payload: str | bytes | None) -> bytes | None:
    return payload.encode() if isinstance(payload, str) else payload


def source_view(t: EventType, cases: list[tuple[int, Case]], folder: Path) -> list[str]:
    """The raw-message columns of the Kafka source, read from a JSON-lines file.

    A file rather than a VALUES list: the planner folds every expression over literal rows
    at planning time, which takes minutes for the whole case table. Each message's bytes
    are in base64 (the json format's BYTES) and `payload` is computed from them by the
    Kafka source's own column definition.
    """
    path = folder / f"{t.name}.jsonl"
    lines = []
    for i, case in cases:
        message = message_bytes(case.payload)
        encoded = None if message is None else base64.b64encode(message).decode()
        lines.append(json.dumps({"message": encoded, "kafka_offset": i}) + "\n")
    path.write_text("".join(lines))
    return [
        f"CREATE TEMPORARY TABLE raw_{t.name}_file ({raw_payload_column()}, kafka_offset BIGINT)"
        f" WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'json')",
        f"CREATE TEMPORARY VIEW raw_{t.name} AS SELECT payload, '{t.topic}' AS kafka_topic,"
        " 0 AS kafka_partition, kafka_offset, TO_TIMESTAMP_LTZ(0, 3) AS kafka_timestamp"
        f" FROM raw_{t.name}_file",
    ]


def query(t: EventType) -> str:
    columns = [
        "CAST(kafka_offset AS STRING)",
        "payload",
        "reasons_csv",
        "SPLIT_INDEX(reasons_csv, ',', 0)",
        "CAST(SPLIT(reasons_csv, ',') AS STRING)",
    ]
    for name, kind in compared_columns(t):
        if name in ("amount", "amount_minor"):
            value = "CAST(amount_value AS DECIMAL(18, 4))" if name == "amount" else name
            columns.append(f"CASE WHEN reasons_csv = '' THEN CAST({value} AS STRING) END")
        elif kind == TIMESTAMPTZ:
            columns.append(f"CAST(CAST({name} AS TIMESTAMP(6)) AS STRING)")
        else:
            columns.append(f"CAST({name} AS STRING)")
    return f"SELECT {', '.join(columns)} FROM {t.name}_checked"


@pytest.fixture(scope="module")
def flink_results(tmp_path_factory) -> dict[int, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("parity")
    indexed = list(enumerate(CASES))
    statements = function_statements()
    for t in EVENT_TYPES:
        mine = [(i, c) for i, c in indexed if c.event_type is t]
        statements += source_view(t, mine, folder)
        statements += [s for s in render_views(t, f"raw_{t.name}").split(";\n") if s.strip()]
    job = {"statements": statements, "queries": {t.name: query(t) for t in EVENT_TYPES}}
    rows_by_type = run_harness(HARNESS, job, folder)
    results: dict[int, dict[str, Any]] = {}
    for t in EVENT_TYPES:
        names = [*COMPARED, *(name for name, _ in compared_columns(t))]
        for row in rows_by_type[t.name]:
            record = dict(zip(names, row, strict=True))
            results[int(record["kafka_offset"])] = record
    return results


def normalise_flink(t: EventType, record: dict[str, Any]) -> dict[str, Any]:
    kinds = dict(compared_columns(t))
    out: dict[str, Any] = {}
    for name, kind in kinds.items():
        value = record[name]
        if value is None:
            out[name] = None
        elif kind == TIMESTAMPTZ:
            out[name] = datetime.fromisoformat(value + "+00:00")
        elif name == "amount":
            out[name] = Decimal(value)
        elif name == "amount_minor":
            out[name] = int(value)
        elif t.field(name).kind is Kind.NUMBER:
            out[name] = float(value)
        else:
            out[name] = value
    return out


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.name for c in CASES])
def test_flink_sql_and_python_agree(index: int, flink_results):
    case = CASES[index]
    python = validate(case.event_type, case.payload)
    flink = flink_results[index]

    python_reasons = [r.value for r in python.reasons]
    assert flink["raw_payload"] == stored_payload(message_bytes(case.payload))
    assert (flink["reasons_csv"].split(",") if flink["reasons_csv"] else []) == python_reasons
    if python_reasons:
        assert flink["rejection_reason"] == python_reasons[0]
        assert flink["rejection_reasons"] == "[" + ", ".join(python_reasons) + "]"
    else:
        expected = {name: python.values.get(name) for name, _ in compared_columns(case.event_type)}
        assert normalise_flink(case.event_type, flink) == expected


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_python_rules_give_the_contracts_answer(name: str):
    [case] = [c for c in CASES if c.name == name]
    assert [r.value for r in validate(case.event_type, case.payload).reasons] == EXPECTED[name]


def test_every_reason_code_is_exercised():
    seen = {r for c in CASES for r in validate(c.event_type, c.payload).reasons}
    from contracts.reasons import VALIDATION_REASONS

    assert seen == set(VALIDATION_REASONS)
