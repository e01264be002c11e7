"""The exporter's series from fake sources at the client edge (Kafka offsets, table
readings): values summed per group and topic, tables labelled by pipeline and kind, a
source that fails reported as down and left out, never as zero."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from contracts.events import EVENT_TYPES
from contracts.tables import UNIFIED_QUARANTINE_TABLE, UNIFIED_TABLE
from contracts.topics import NORMALIZED, STRIPE_RAW
from observability import series
from observability.exporter import (
    ExporterSettings,
    PlatformCollector,
    TableReading,
    watched_tables,
)
from observability.kafka_offsets import PartitionLag
from observability.series import Pipeline, TableKind


class FakeOffsets:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def topic_end_offsets(self, topics: object) -> dict[str, dict[int, int]]:
        if self.fail:
            raise RuntimeError("broker down")
        return {STRIPE_RAW: {0: 10, 1: 5}, NORMALIZED: {0: 7}}

    def group_lag(self) -> list[PartitionLag]:
        return [
            PartitionLag("norm", STRIPE_RAW, 0, 8, 10),
            PartitionLag("norm", STRIPE_RAW, 1, 5, 5),
            PartitionLag("bridge", NORMALIZED, 0, -1001, 7),  # nothing committed yet
        ]


class Tables:
    def __init__(self) -> None:
        self.reads = 0
        self.fail = False

    def __call__(self, table: str) -> TableReading:
        self.reads += 1
        if self.fail:
            raise OSError("catalog database down")
        if table == UNIFIED_TABLE:
            return TableReading(90, 1_700_000_000.0)
        if table == UNIFIED_QUARANTINE_TABLE:
            return TableReading(10, 1_700_000_001.0)
        return TableReading(0, None)


def scrape(collector: PlatformCollector) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(collector)
    samples = {}
    for family in registry.collect():
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def collector(offsets: FakeOffsets, tables: Tables, refresh: float = 60) -> PlatformCollector:
    return PlatformCollector(
        lambda: offsets,  # type: ignore[arg-type, return-value]
        lambda: tables,
        ExporterSettings(table_refresh_seconds=refresh),
    )


def test_offsets_and_lag_are_summed_per_topic_and_group() -> None:
    samples = scrape(collector(FakeOffsets(), Tables()))
    assert samples[f"{series.TOPIC_END_OFFSET}{{topic={STRIPE_RAW}}}"] == 15
    assert samples[f"{series.CONSUMER_LAG}{{group=norm,topic={STRIPE_RAW}}}"] == 2
    assert samples[f"{series.CONSUMER_COMMITTED}{{group=norm,topic={STRIPE_RAW}}}"] == 13
    # A group with no commit on a topic has no lag series for it (not a lag of 0).
    assert not any("group=bridge" in key for key in samples)
    assert samples[f"{series.EXPORTER_SOURCE_UP}{{source=kafka}}"] == 1


def test_tables_carry_their_pipeline_and_kind() -> None:
    samples = scrape(collector(FakeOffsets(), Tables()))
    unified = f"kind={TableKind.CLEAN},pipeline={Pipeline.NORMALIZATION},table={UNIFIED_TABLE}"
    quarantine = (
        f"kind={TableKind.QUARANTINE},pipeline={Pipeline.NORMALIZATION},"
        f"table={UNIFIED_QUARANTINE_TABLE}"
    )
    assert samples[f"{series.TABLE_ROWS}{{{unified}}}"] == 90
    assert samples[f"{series.TABLE_ROWS}{{{quarantine}}}"] == 10
    assert samples[f"{series.TABLE_LAST_COMMIT}{{{unified}}}"] == 1_700_000_000.0
    # Every table has its rows; a table without a snapshot has no last commit.
    assert sum(1 for k in samples if k.startswith(series.TABLE_ROWS + "{")) == len(watched_tables())
    bronze = EVENT_TYPES[0].bronze_table
    assert not any(k.startswith(series.TABLE_LAST_COMMIT) and bronze in k for k in samples)


def test_every_table_of_the_contract_is_watched_once() -> None:
    tables = [w.table for w in watched_tables()]
    assert len(tables) == len(set(tables))
    for t in EVENT_TYPES:
        assert t.bronze_table in tables and t.quarantine_table in tables


def test_a_failing_source_is_reported_down_not_zero() -> None:
    tables = Tables()
    tables.fail = True
    samples = scrape(collector(FakeOffsets(fail=True), tables))
    assert samples[f"{series.EXPORTER_SOURCE_UP}{{source=kafka}}"] == 0
    assert samples[f"{series.EXPORTER_SOURCE_UP}{{source=iceberg}}"] == 0
    assert not any(k.startswith(series.TOPIC_END_OFFSET) for k in samples)
    assert not any(k.startswith(series.TABLE_ROWS) for k in samples)


def test_tables_are_read_at_most_once_per_refresh() -> None:
    tables = Tables()
    exporter = collector(FakeOffsets(), tables, refresh=3600)
    scrape(exporter)
    scrape(exporter)
    assert tables.reads == len(watched_tables())
    assert b"paystream_table_rows" in generate_latest_of(exporter)


def generate_latest_of(exporter: PlatformCollector) -> bytes:
    registry = CollectorRegistry()
    registry.register(exporter)
    return generate_latest(registry)
