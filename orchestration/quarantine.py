"""Quarantine-rate checks: one per table the validation (or normalising) job writes.

A burst of bad data upstream (a provider changing a field, a producer bug) shows up as a
rising share of quarantined messages long before anyone reads the quarantine tables.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)

from contracts.events import EVENT_TYPES
from contracts.tables import UNIFIED_QUARANTINE_TABLE, UNIFIED_TABLE
from orchestration.resources import QuarantineThresholds, TrinoResource


@dataclass(frozen=True)
class WatchedTable:
    """A table, its quarantine table and their timestamp columns, checked on `asset`."""

    asset: str  # the dbt staging model reading the table
    table: str
    quarantine_table: str
    loaded_at: str


# From the table definitions (validation/): JR bronze tables, then the unified one.
BRONZE_TABLES: tuple[WatchedTable, ...] = tuple(
    WatchedTable(f"stg_{t.name}", t.bronze_table, t.quarantine_table, "ingested_at")
    for t in EVENT_TYPES
)
WATCHED_TABLES: tuple[WatchedTable, ...] = (
    *BRONZE_TABLES,
    WatchedTable("stg_payments", UNIFIED_TABLE, UNIFIED_QUARANTINE_TABLE, "processed_at"),
)


@dataclass(frozen=True)
class QuarantineVerdict:
    passed: bool
    accepted: int
    quarantined: int
    rate_pct: float | None  # None when nothing arrived in the window
    description: str


def judge_quarantine(
    accepted: int, quarantined: int, thresholds: QuarantineThresholds
) -> QuarantineVerdict:
    total = accepted + quarantined
    rate = 100.0 * quarantined / total if total else None
    too_many = quarantined > thresholds.max_rows
    too_high = rate is not None and rate > thresholds.max_rate_pct
    window = f"in the last {thresholds.window_minutes} min"
    if too_many or too_high:
        description = (
            f"{quarantined} of {total} messages quarantined {window} ({rate:.1f}%); "
            f"limits {thresholds.max_rows} messages, {thresholds.max_rate_pct}%"
        )
    elif rate is None:
        description = f"no messages {window}"
    else:
        description = f"{quarantined} of {total} messages quarantined {window} ({rate:.1f}%)"
    return QuarantineVerdict(not (too_many or too_high), accepted, quarantined, rate, description)


def window_counts_sql(watched: WatchedTable, window_minutes: int) -> str:
    since = f"current_timestamp - interval '{int(window_minutes)}' minute"
    return (
        f'SELECT (SELECT count(*) FROM "{watched.table}" WHERE {watched.loaded_at} >= {since}),'
        f' (SELECT count(*) FROM "{watched.quarantine_table}"'
        f" WHERE quarantine_timestamp >= {since})"
    )


def build_quarantine_check(watched: WatchedTable, asset: AssetKey) -> AssetChecksDefinition:
    @asset_check(
        asset=asset,
        name=f"quarantine_rate_{watched.table}",
        description=f"Share of {watched.table} messages sent to {watched.quarantine_table}.",
        blocking=False,
    )
    def quarantine_rate(
        context: AssetCheckExecutionContext,
        trino: TrinoResource,
        quarantine_thresholds: QuarantineThresholds,
    ) -> AssetCheckResult:
        [(accepted, quarantined)] = trino.query(
            window_counts_sql(watched, quarantine_thresholds.window_minutes)
        )
        verdict = judge_quarantine(int(accepted), int(quarantined), quarantine_thresholds)
        context.log.info(verdict.description)
        return AssetCheckResult(
            passed=verdict.passed,
            severity=AssetCheckSeverity.ERROR,
            description=verdict.description,
            metadata={
                "accepted": verdict.accepted,
                "quarantined": verdict.quarantined,
                "rate_pct": verdict.rate_pct if verdict.rate_pct is not None else 0.0,
                "window_minutes": quarantine_thresholds.window_minutes,
            },
        )

    return quarantine_rate


def build_quarantine_checks(
    asset_key_of: Callable[[str], AssetKey],
    tables: Sequence[WatchedTable] = WATCHED_TABLES,
) -> list[AssetChecksDefinition]:
    """One check per table, on the asset `asset_key_of` names for its staging model."""
    return [build_quarantine_check(watched, asset_key_of(watched.asset)) for watched in tables]
