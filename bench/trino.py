"""Trino query latency on a table written in many small commits, before and after compaction.

The tables are the pipeline's own (contracts.tables, day-partitioned), created with
PyIceberg; the rows go in through Trino INSERT ... SELECT, one commit per statement,
because PyIceberg cannot write partitioned tables without `pyiceberg-core`, which is not
installed. Streaming writers commit a few files per checkpoint, so a table that grew by
streaming has many small files; `lakehouse.maintenance` (`make compact`) rewrites them. The
representative queries run against both states of the same data, with the file counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.lakehouse import bench_namespace, charge_insert, quarantine_insert
from bench.plots import bar_plot
from bench.results import Result, summarise
from bench.settings import BenchSettings
from contracts.events import CHARGES
from lakehouse.clients import load_catalog, trino_connection
from lakehouse.maintenance import compact
from lakehouse.settings import LakehouseSettings
from lakehouse.tables import ensure_tables

BRONZE = CHARGES.bronze_table
QUARANTINE = CHARGES.quarantine_table
# The share of messages that are rejected, as in the JR load.
QUARANTINE_SHARE = 0.1

QUERIES = {
    "count": f"SELECT count(*) FROM {BRONZE}",
    "by_merchant_day": (
        f"SELECT merchant_id, date_trunc('day', created_at) AS day, count(*), sum(amount_minor) "
        f"FROM {BRONZE} GROUP BY 1, 2"
    ),
    "quarantine_by_reason": (
        f"SELECT rejection_reason, count(*) FROM {QUARANTINE} GROUP BY 1 ORDER BY 2 DESC"
    ),
}


def fill(cursor: Any, rows: int, appends: int, say: Callable[[str], None]) -> int:
    """Writes `rows` rows split between the two tables in `appends` commits each."""
    rejected = int(rows * QUARANTINE_SHARE)
    accepted = rows - rejected
    started = datetime.now(UTC)
    for index in range(appends):
        at = started + timedelta(seconds=5 * index)
        lo, hi = accepted * index // appends, accepted * (index + 1) // appends
        _run(cursor, charge_insert(BRONZE, lo, hi - lo, at))
        lo, hi = rejected * index // appends, rejected * (index + 1) // appends
        if hi > lo:
            _run(cursor, quarantine_insert(QUARANTINE, lo, hi - lo, at))
        if (index + 1) % max(1, appends // 10) == 0:
            say(f"  {index + 1}/{appends} appends")
    return accepted


def _run(cursor: Any, sql: str) -> None:
    cursor.execute(sql)
    cursor.fetchall()  # a statement is only done once its result is read


def query_latencies(cursor: Any, repeats: int) -> dict[str, dict[str, float]]:
    figures = {}
    for name, sql in QUERIES.items():
        cursor.execute(sql)
        cursor.fetchall()  # warm-up: metadata caches, JIT
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            seconds.append(time.perf_counter() - started)
        figures[name] = summarise([s * 1000 for s in seconds])
    return figures


def file_counts(cursor: Any) -> dict[str, int]:
    counts = {}
    for table in (BRONZE, QUARANTINE):
        cursor.execute(f'SELECT count(*) FROM "{table}$files"')
        counts[table] = int(cursor.fetchall()[0][0])
    return counts


def run(settings: BenchSettings, out: Path) -> Result:
    lakehouse = LakehouseSettings()
    catalog = load_catalog(lakehouse)
    with bench_namespace(catalog) as namespace:
        ensure_tables(catalog, namespace)
        print(f"Writing {settings.trino_rows:,} rows in {settings.trino_appends} commits per "
              f"table into {namespace}", flush=True)  # fmt: skip
        cursor = trino_connection(lakehouse, schema=namespace).cursor()
        started = time.monotonic()
        accepted = fill(cursor, settings.trino_rows, settings.trino_appends, print)
        write_seconds = time.monotonic() - started
        cursor.execute(f"SELECT count(*) FROM {BRONZE}")
        seen = int(cursor.fetchall()[0][0])
        if seen != accepted:
            raise RuntimeError(f"Trino sees {seen} rows of {accepted} written")
        states = {"before": (file_counts(cursor), query_latencies(cursor, settings.trino_repeats))}
        started = time.monotonic()
        report = compact(namespace, [BRONZE, QUARANTINE], lakehouse=lakehouse)
        compact_seconds = time.monotonic() - started
        if report.failed:
            raise RuntimeError(f"compaction failed: {report.failed}")
        states["after"] = (file_counts(cursor), query_latencies(cursor, settings.trino_repeats))

    rows = [
        {
            "state": state,
            "query": query,
            "files": files[QUARANTINE if query.startswith("quarantine") else BRONZE],
            "p50_ms": figures["p50"],
            "p95_ms": figures["p95"],
        }
        for state, (files, latencies) in states.items()
        for query, figures in latencies.items()
    ]
    plot = bar_plot(
        out / "trino_latency.png",
        {q: {s: latencies[q]["p50"] for s, (_, latencies) in states.items()} for q in QUERIES},
        title=f"Trino p50 latency, {settings.trino_rows:,} rows, {settings.trino_appends} commits",
        ylabel="ms",
    )
    return Result(
        name="trino",
        measured=True,
        reason=(
            f"{settings.trino_rows:,} rows ({accepted:,} bronze) written through Trino "
            f"INSERTs (one Iceberg commit each), {settings.trino_appends} per table in "
            f"{write_seconds:.0f}s; compaction (optimize, expire, orphans) took "
            f"{compact_seconds:.1f}s; "
            f"{settings.trino_repeats} timed runs per query after one warm-up."
        ),
        rows=rows,
        data={
            "namespace": namespace,
            "write_seconds": write_seconds,
            "compact_seconds": compact_seconds,
            "states": {s: {"files": f, "latency_ms": lat} for s, (f, lat) in states.items()},
        },
        plots=[plot],
    )
