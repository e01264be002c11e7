"""Flink SQL written once for every job: quoting, column lists of the contract's tables,
the raw Kafka source, Iceberg table references and the quarantine projection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from contracts.paths import udf_jar
from contracts.tables import AMOUNT, BIGINT, DOUBLE, INT, STRING, STRINGS, TIMESTAMPTZ, Columns

FLINK_TYPES = {
    STRING: "STRING",
    AMOUNT: "DECIMAL(18, 4)",
    BIGINT: "BIGINT",
    INT: "INT",
    DOUBLE: "DOUBLE",
    TIMESTAMPTZ: "TIMESTAMP_LTZ(6)",
    STRINGS: "ARRAY<STRING>",
}

# Every raw source's Kafka coordinates, as the quarantine and bronze tables keep them.
KAFKA_METADATA_COLUMNS = (
    "kafka_topic STRING METADATA FROM 'topic' VIRTUAL",
    "kafka_partition INT METADATA FROM 'partition' VIRTUAL",
    "kafka_offset BIGINT METADATA FROM 'offset' VIRTUAL",
    "kafka_timestamp TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL",
)
HEADERS_COLUMN = "headers MAP<STRING, BYTES> METADATA FROM 'headers' VIRTUAL"

# How a quarantine table's computed columns come from a checked view's row.
QUARANTINE_EXPRESSIONS = {
    "raw_payload": "payload",
    "rejection_reason": "SPLIT_INDEX(reasons_csv, ',', 0)",
    "rejection_reasons": "SPLIT(reasons_csv, ',')",
    "quarantine_timestamp": "CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))",
    "kafka_timestamp": "CAST(kafka_timestamp AS TIMESTAMP_LTZ(6))",
}


# The jobs' own function (flink_jobs/udf): a message parsed once, each path's member text.
JSON_MEMBERS = "JSON_MEMBERS"
JSON_MEMBERS_CLASS = "io.paystream.flink.udf.JsonMembers"


def literal(text: str) -> str:
    """A SQL string literal: `it's` -> `'it''s'`."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A quoted identifier: `a-b` -> `` `a-b` ``."""
    return "`" + name.replace("`", "``") + "`"


def table_ref(catalog: str, namespace: str, table: str) -> str:
    """A table of the Iceberg catalog, each part quoted."""
    return ".".join(identifier(part) for part in (catalog, namespace, table))


def flink_columns(columns: Columns) -> str:
    return ",\n  ".join(f"{name} {FLINK_TYPES[kind]}" for name, kind in columns)


def set_statement(key: str, value: str) -> str:
    return f"SET {literal(key)} = {literal(value)};"


def kafka_raw_source(
    table: str,
    *,
    topic: str,
    bootstrap_servers: str,
    group_id: str,
    payload_columns: Sequence[str],
    extra_columns: Sequence[str] = (),
) -> str:
    """A topic's messages as they are stored, with their Kafka coordinates.

    Read as `raw`, never as `json`: a message that is not JSON must reach quarantine, and
    the json format can only fail the job (again after every restart) or drop it. Offsets
    come from the job's checkpoints; a job started without state resumes from the group's
    committed offsets, or the earliest. Only committed transactions are read.
    """
    columns = ",\n  ".join([*payload_columns, *KAFKA_METADATA_COLUMNS, *extra_columns])
    options = {
        "connector": "kafka",
        "topic": topic,
        "properties.bootstrap.servers": bootstrap_servers,
        "properties.group.id": group_id,
        "properties.isolation.level": "read_committed",
        "scan.startup.mode": "group-offsets",
        "properties.auto.offset.reset": "earliest",
        "scan.topic-partition-discovery.interval": "60s",
        "format": "raw",
    }
    return (
        f"CREATE TEMPORARY TABLE {table} (\n  {columns}\n) WITH (\n  {with_options(options)}\n);\n"
    )


def with_options(options: Mapping[str, str]) -> str:
    return ",\n  ".join(f"{literal(key)} = {literal(value)}" for key, value in options.items())


def projection(columns: Columns, expressions: Mapping[str, str]) -> list[str]:
    """Each column of `columns`: `expression AS name` where one is given, else the name."""
    return [
        f"{expressions[name]} AS {name}" if name in expressions else name for name, _ in columns
    ]


def quarantine_projection(columns: Columns, overrides: Mapping[str, str] | None = None) -> str:
    """A quarantine table's row from a checked view's (`payload`, `reasons_csv`, ...)."""
    return ",\n  ".join(projection(columns, {**QUARANTINE_EXPRESSIONS, **(overrides or {})}))


def job_configuration(
    job_name: str, checkpoint_interval: str, parallelism: int, **extra: str
) -> str:
    """The SET statements every job starts with, then `extra` (Flink key -> value)."""
    configuration = {
        "pipeline.name": job_name,
        # Iceberg commits on checkpoints: the interval is the data's freshness.
        "execution.checkpointing.interval": checkpoint_interval,
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "parallelism.default": str(parallelism),
        # Offset-free timestamps are UTC, whatever the machine's zone.
        "table.local-time-zone": "UTC",
    } | extra
    return "\n".join(set_statement(key, value) for key, value in configuration.items())


def function_statements(jar: str | None = None) -> list[str]:
    """The statements that make the jobs' own functions callable, without their `;`.

    `ADD JAR` rather than Flink's lib/: the SQL client ships the jar with the job graph
    (`pipeline.jars`), so each job runs the functions it was submitted with, and a
    JobManager recovering the job under HA gets the jar from the HA blob store with the
    graph, whatever the cluster's lib/ holds.
    """
    return [
        f"ADD JAR {literal(jar or str(udf_jar()))}",
        f"CREATE TEMPORARY FUNCTION {JSON_MEMBERS} AS {literal(JSON_MEMBERS_CLASS)} LANGUAGE JAVA",
    ]


def functions_block(jar: str | None = None) -> str:
    """`function_statements`, as a script's block."""
    return "".join(f"{statement};\n" for statement in function_statements(jar))


def json_members(paths: Sequence[str], payload: str = "payload") -> str:
    """`JSON_MEMBERS(payload, path...)`: the message parsed once (flink_jobs/udf JsonMembers).

    A ROW: `is_object` (one JSON object and nothing after it), `members[i]` (exactly
    `COALESCE(JSON_VALUE(payload, path_i), JSON_QUERY(payload, path_i))`, 1-based) and
    `scalars[i]` (TRUE when that is JSON_VALUE's, FALSE when JSON_QUERY's). The function is
    non-deterministic, so the planner keeps one call per row however often its fields are read.
    """
    return f"{JSON_MEMBERS}({', '.join([payload, *(literal(p) for p in paths)])})"
