"""`make demo`: the platform end to end on the local stack (which `make up` started).

Creates the topics, submits every Flink job (validation, normalisation, enrichment sink;
or finds them running), drives JR load into the raw topics and signed Stripe/Square
webhooks through the gateway at the same time, then shows from Trino what landed where:
per-table counts against what was produced, the top quarantine reasons, the unified
payments by provider and type, enrichments joined to payments, and, after `dbt build`,
a few gold numbers. Everything keeps running.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from contracts.events import EVENT_TYPES
from contracts.tables import ENRICHMENT_TABLE, UNIFIED_QUARANTINE_TABLE, UNIFIED_TABLE
from deploy.flink.submit import default_submitter
from deploy.local.settings import StackSettings
from flink_jobs.registry import registered_jobs
from lakehouse.clients import trino_connection
from lakehouse.settings import LakehouseSettings
from loadgen.jr.driver import high_watermarks, watermark_consumer
from streaming.settings import KafkaSettings
from streaming.topics import ensure_topics

LOAD_DURATION = os.environ.get("DEMO_DURATION", "60s")
WEBHOOK_RATE = os.environ.get("DEMO_WEBHOOK_RATE", "20")


def say(message: str) -> None:
    print(f"demo: {message}", flush=True)


def landed_counts(lakehouse: LakehouseSettings) -> dict[str, tuple[int, int]]:
    cursor = trino_connection(lakehouse).cursor()
    counts = {}
    for t in EVENT_TYPES:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {t.bronze_table}),"
            f" (SELECT count(*) FROM {t.quarantine_table})"
        )
        bronze, quarantine = cursor.fetchone()
        counts[t.name] = (bronze, quarantine)
    return counts


def top_reasons(lakehouse: LakehouseSettings, limit: int = 8) -> list[tuple[str, str, int]]:
    union = " UNION ALL ".join(
        f"SELECT '{t.quarantine_table}' AS tbl, rejection_reason FROM {t.quarantine_table}"
        for t in EVENT_TYPES
    )
    cursor = trino_connection(lakehouse).cursor()
    cursor.execute(
        f"SELECT tbl, rejection_reason, count(*) FROM ({union}) "
        f"GROUP BY 1, 2 ORDER BY 3 DESC LIMIT {limit}"
    )
    return [tuple(row) for row in cursor.fetchall()]


def produced_counts(bootstrap: str) -> dict[str, int]:
    """Per event type, every message ever produced to its topic (high watermarks)."""
    consumer = watermark_consumer(bootstrap)
    try:
        produced = high_watermarks(consumer, [t.topic for t in EVENT_TYPES])
    finally:
        consumer.close()
    return {t.name: produced[t.topic] for t in EVENT_TYPES}


def wait_until_landed(
    produced: dict[str, int], lakehouse: LakehouseSettings, timeout: float = 60
) -> None:
    """Until every produced message is in a table (a checkpoint or two), or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = landed_counts(lakehouse)
        if all(sum(counts[name]) >= n for name, n in produced.items()):
            return
        time.sleep(2)


def query(lakehouse: LakehouseSettings, sql: str) -> list[tuple]:
    cursor = trino_connection(lakehouse).cursor()
    cursor.execute(sql)
    return [tuple(row) for row in cursor.fetchall()]


def print_rows(header: tuple[str, ...], rows: list[tuple]) -> None:
    """A plain table, each column as wide as its widest value."""
    cells = [header, *[tuple("" if v is None else str(v) for v in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        print(
            "  " + "  ".join(f"{value:<{width}}" for value, width in zip(row, widths, strict=True))
        )


def wait_for_enrichments(lakehouse: LakehouseSettings, timeout: float = 90) -> None:
    """Until every unified payment has its enrichment row (the side stream is async)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        [(missing,)] = query(
            lakehouse,
            f"SELECT count(*) FROM {UNIFIED_TABLE} p LEFT JOIN {ENRICHMENT_TABLE} e "
            "ON p.event_id = e.event_id WHERE e.event_id IS NULL",
        )
        if missing == 0:
            return
        time.sleep(3)


def show_jr_tables(produced: dict[str, int], lakehouse: LakehouseSettings) -> None:
    say(f"JR events in lakehouse.{lakehouse.namespace} (from Trino):")
    counts = landed_counts(lakehouse)
    print(f"  {'type':<14} {'produced':>9} {'bronze':>9} {'quarantine':>11} {'missing':>8}")
    for t in EVENT_TYPES:
        bronze, quarantine = counts[t.name]
        print(
            f"  {t.name:<14} {produced[t.name]:>9} {bronze:>9} {quarantine:>11} "
            f"{produced[t.name] - bronze - quarantine:>8}"
        )
    say("top quarantine reasons:")
    for table, reason, count in top_reasons(lakehouse):
        print(f"  {count:>7}  {reason:<26} {table}")


def show_unified(lakehouse: LakehouseSettings) -> None:
    say(
        f"webhooks, unified ({lakehouse.catalog_name}.{lakehouse.namespace}.{UNIFIED_TABLE},"
        " one row per provider event):"
    )
    print_rows(
        ("provider", "event_type", "rows", "amount_minor"),
        query(
            lakehouse,
            f"SELECT provider, event_type, count(*), sum(amount_minor) FROM {UNIFIED_TABLE} "
            "GROUP BY 1, 2 ORDER BY 1, 2",
        ),
    )
    say(f"webhooks quarantined ({UNIFIED_QUARANTINE_TABLE}):")
    print_rows(
        ("reason", "rows"),
        query(
            lakehouse,
            f"SELECT rejection_reason, count(*) FROM {UNIFIED_QUARANTINE_TABLE}"
            " GROUP BY 1 ORDER BY 2 DESC",
        ),
    )
    say(f"enrichments joined to payments ({ENRICHMENT_TABLE}, newest 8):")
    print_rows(
        ("provider", "event_type", "amount", "currency", "fraud", "risk", "churn", "source"),
        query(
            lakehouse,
            "SELECT p.provider, p.event_type, p.amount_minor, p.currency, "
            "round(e.fraud_score, 3), e.risk_level, round(e.churn_score, 3), e.score_source "
            f"FROM {UNIFIED_TABLE} p JOIN {ENRICHMENT_TABLE} e ON p.event_id = e.event_id "
            "ORDER BY p.processed_at DESC LIMIT 8",
        ),
    )


def show_gold(stack: StackSettings, lakehouse: LakehouseSettings) -> int:
    say("building the dbt models on Trino (make dbt-build)")
    build = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--profiles-dir", ".", "--quiet"],
        cwd=stack.repo_root / "dbt",
        check=False,
    )
    if build.returncode != 0:
        say("error: dbt build failed (see the output above)")
        return 1
    gold = f"{lakehouse.namespace}_gold"
    say(f"gold numbers ({gold}):")
    print_rows(
        ("date", "total", "succeeded", "failed"),
        query(
            lakehouse,
            f"SELECT payment_date, sum(payments), sum(succeeded_payments), "
            f"sum(failed_payments) FROM {gold}.fct_daily_payments GROUP BY 1 "
            f"ORDER BY 1 DESC LIMIT 3",
        ),
    )
    print_rows(
        ("health band", "merchants"),
        query(
            lakehouse,
            f"SELECT health_band, count(*) FROM {gold}.merchant_health_scores GROUP BY 1 "
            f"ORDER BY 2 DESC",
        ),
    )
    return 0


def main() -> int:
    stack, lakehouse, kafka = StackSettings(), LakehouseSettings(), KafkaSettings()
    bootstrap = kafka.bootstrap_servers
    say("creating the Kafka topics (make topics)")
    ensure_topics(kafka)
    say("submitting the Flink jobs (make submit)")
    submitter = default_submitter()
    submitter.wait_for_platform()
    for job in registered_jobs().values():
        submitter.submit(job)

    say(f"driving JR load and {WEBHOOK_RATE} webhooks/s for {LOAD_DURATION} (make load, webhooks)")
    webhooks = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "loadgen.webhooks",
            "--rate",
            WEBHOOK_RATE,
            "--duration",
            LOAD_DURATION,
        ]
    )
    load = subprocess.run(
        [sys.executable, "-m", "loadgen.jr", "--duration", LOAD_DURATION], check=False
    )
    # Exit code 1 only says some answers were not the expected ones (the summary shows them).
    if load.returncode != 0 or webhooks.wait() not in (0, 1):
        say("error: a load generator failed")
        return 1
    produced = produced_counts(bootstrap)
    wait_until_landed(produced, lakehouse)
    show_jr_tables(produced, lakehouse)
    wait_for_enrichments(lakehouse)
    show_unified(lakehouse)
    if show_gold(stack, lakehouse) != 0:
        return 1
    say("everything keeps running:")
    print(f"  Flink web UI   http://127.0.0.1:{stack.flink_rest_port}")
    print(f"  Trino          http://{lakehouse.trino_host}:{lakehouse.trino_port}  (make trino)")
    print(f"  Temporal UI    http://127.0.0.1:{stack.temporal_ui_port}")
    print(f"  Gateway        http://127.0.0.1:{stack.gateway_port}/metrics")
    print("  Dagster        make dagster (http://127.0.0.1:3000)")
    print(
        "  more load: make load RATE=10 DURATION=5m, make webhooks; stop: make stop-jobs, make down"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
