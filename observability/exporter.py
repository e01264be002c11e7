"""`python -m observability.exporter`: the platform's own Prometheus series, on 127.0.0.1.

What no service exports by itself, read at each scrape (observability.series):
- each contract topic's end offset (the stage's message count: its rate is the stage's rate);
- each consumer group's committed offset and lag per topic (the Flink jobs' groups, which
  their Kafka sources commit at each checkpoint, and the bridge's);
- each Iceberg table's rows and last commit, from its current snapshot's summary (metadata
  only, no data file is read), labelled with its pipeline and whether it holds clean or
  quarantined rows.
A source that does not answer is left out of that scrape (its series go stale, the
`paystream_exporter_source_up{source}` gauge says which), never reported as zero.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.events import EVENT_TYPES
from contracts.tables import (
    ENRICHMENT_QUARANTINE_TABLE,
    ENRICHMENT_TABLE,
    REDELIVERY_TABLE,
    UNIFIED_QUARANTINE_TABLE,
    UNIFIED_TABLE,
)
from contracts.topics import TOPIC_NAMES
from observability import series
from observability.kafka_offsets import KafkaOffsets, PartitionLag
from observability.logs import configure_json_logging
from observability.series import Pipeline, TableKind

log = logging.getLogger("observability.exporter")


class ExporterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXPORTER_", frozen=True)

    port: int = Field(default=9467, ge=1, le=65535)
    # Tables are read at most this often (a scrape in between answers the last reading).
    table_refresh_seconds: float = Field(default=10.0, ge=0)


@dataclass(frozen=True)
class WatchedTable:
    table: str
    pipeline: Pipeline
    kind: TableKind


def watched_tables() -> list[WatchedTable]:
    """Every table the pipelines write, with its pipeline and kind."""
    tables = []
    for t in EVENT_TYPES:
        tables.append(WatchedTable(t.bronze_table, Pipeline.VALIDATION, TableKind.CLEAN))
        tables.append(WatchedTable(t.quarantine_table, Pipeline.VALIDATION, TableKind.QUARANTINE))
    return [
        *tables,
        WatchedTable(UNIFIED_TABLE, Pipeline.NORMALIZATION, TableKind.CLEAN),
        WatchedTable(UNIFIED_QUARANTINE_TABLE, Pipeline.NORMALIZATION, TableKind.QUARANTINE),
        WatchedTable(REDELIVERY_TABLE, Pipeline.NORMALIZATION, TableKind.OTHER),
        WatchedTable(ENRICHMENT_TABLE, Pipeline.ENRICHMENT, TableKind.CLEAN),
        WatchedTable(ENRICHMENT_QUARANTINE_TABLE, Pipeline.ENRICHMENT, TableKind.QUARANTINE),
    ]


@dataclass(frozen=True)
class TableReading:
    rows: int
    last_commit_seconds: float | None  # None: the table has no snapshot yet


# The table's current snapshot as (rows, commit time in seconds), None when it has none.
ReadTable = Callable[[str], TableReading]


def iceberg_reader() -> ReadTable:
    from lakehouse.clients import load_catalog
    from lakehouse.settings import LakehouseSettings

    lakehouse = LakehouseSettings()
    catalog = load_catalog(lakehouse)

    def read(table: str) -> TableReading:
        snapshot = catalog.load_table((lakehouse.namespace, table)).current_snapshot()
        if snapshot is None:
            return TableReading(0, None)
        total = snapshot.summary.get("total-records") if snapshot.summary else None
        rows = int(total) if total is not None else 0
        return TableReading(rows, snapshot.timestamp_ms / 1000)

    return read


def sum_by_topic(rows: list[PartitionLag]) -> dict[tuple[str, str], tuple[int, int]]:
    """(group, topic) -> (committed, lag), summed over the partitions the group committed."""
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    for row in rows:
        if row.lag is None or row.committed is None:
            continue
        committed, lag = totals.get((row.group, row.topic), (0, 0))
        totals[(row.group, row.topic)] = (committed + row.committed, lag + max(row.lag, 0))
    return totals


class PlatformCollector(Collector):
    def __init__(
        self,
        kafka: Callable[[], KafkaOffsets],
        read_table: Callable[[], ReadTable],
        settings: ExporterSettings,
    ) -> None:
        self._kafka_factory = kafka
        self._reader_factory = read_table
        self._kafka: KafkaOffsets | None = None
        self._reader: ReadTable | None = None
        self._settings = settings
        self._tables: dict[str, TableReading] = {}
        self._tables_read_at: float | None = None  # never read yet
        self._lock = threading.Lock()  # scrapes may overlap; one reading at a time

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            up = GaugeMetricFamily(
                series.EXPORTER_SOURCE_UP,
                "1 when the source answered this scrape's reading.",
                labels=["source"],
            )
            families, kafka_ok = self._kafka_families()
            yield from families
            up.add_metric(["kafka"], 1.0 if kafka_ok else 0.0)
            families, tables_ok = self._table_families()
            yield from families
            up.add_metric(["iceberg"], 1.0 if tables_ok else 0.0)
            yield up

    def _kafka_families(self) -> tuple[list[GaugeMetricFamily], bool]:
        ends = GaugeMetricFamily(
            series.TOPIC_END_OFFSET,
            "Sum of the topic's partitions' end offsets.",
            labels=["topic"],
        )
        committed = GaugeMetricFamily(
            series.CONSUMER_COMMITTED,
            "Sum of a group's committed offsets on a topic.",
            labels=["group", "topic"],
        )
        lag = GaugeMetricFamily(
            series.CONSUMER_LAG,
            "Messages of a topic a group has not committed yet (end - committed, summed).",
            labels=["group", "topic"],
        )
        try:
            if self._kafka is None:
                self._kafka = self._kafka_factory()
            for topic, partitions in self._kafka.topic_end_offsets(TOPIC_NAMES).items():
                ends.add_metric([topic], float(sum(partitions.values())))
            for (group, topic), (done, behind) in sum_by_topic(self._kafka.group_lag()).items():
                committed.add_metric([group, topic], float(done))
                lag.add_metric([group, topic], float(behind))
        except Exception as exc:  # any failure of the broker or client: report it as down
            log.warning("kafka reading failed (%s: %s)", type(exc).__name__, exc)
            return [], False
        return [ends, committed, lag], True

    def _table_families(self) -> tuple[list[GaugeMetricFamily], bool]:
        labels = ["table", "pipeline", "kind"]
        rows = GaugeMetricFamily(
            series.TABLE_ROWS, "Rows in the table's current snapshot.", labels=labels
        )
        last = GaugeMetricFamily(
            series.TABLE_LAST_COMMIT,
            "When the table's current snapshot was committed.",
            labels=labels,
        )
        ok = True
        read_at, every = self._tables_read_at, self._settings.table_refresh_seconds
        if read_at is None or time.monotonic() - read_at >= every:
            ok = self._read_tables()
        for watched in watched_tables():
            reading = self._tables.get(watched.table)
            if reading is None:
                continue
            values = [watched.table, watched.pipeline.value, watched.kind.value]
            rows.add_metric(values, float(reading.rows))
            if reading.last_commit_seconds is not None:
                last.add_metric(values, reading.last_commit_seconds)
        return [rows, last], ok

    def _read_tables(self) -> bool:
        try:
            if self._reader is None:
                self._reader = self._reader_factory()
            self._tables = {w.table: self._reader(w.table) for w in watched_tables()}
        except Exception as exc:  # catalog database or warehouse unreachable, table missing
            log.warning("iceberg reading failed (%s: %s)", type(exc).__name__, exc)
            self._reader = None  # a fresh catalog connection next time
            self._tables = {}
            return False
        self._tables_read_at = time.monotonic()
        return True


def main() -> None:
    from streaming.settings import KafkaSettings

    configure_json_logging()
    settings = ExporterSettings()
    kafka = KafkaSettings()
    registry = CollectorRegistry()
    registry.register(
        PlatformCollector(
            lambda: KafkaOffsets(kafka.bootstrap_servers, "paystream-exporter"),
            iceberg_reader,
            settings,
        )
    )
    start_http_server(settings.port, addr="127.0.0.1", registry=registry)
    log.info("metrics on http://127.0.0.1:%d/metrics", settings.port)
    threading.Event().wait()


if __name__ == "__main__":
    main()
