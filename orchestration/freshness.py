"""Freshness of the tables the streaming jobs write: a stalled Flink job or an empty topic
shows up as a bronze table whose newest row keeps getting older."""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)

from orchestration.quarantine import BRONZE_TABLES, WatchedTable
from orchestration.resources import FreshnessThresholds, TrinoResource


def judge_freshness(newest: datetime | None, now: datetime, max_lag: timedelta) -> tuple[bool, str]:
    if newest is None:
        return False, "no rows at all"
    lag = now - newest
    verdict = "fresh" if lag <= max_lag else "stale"
    return lag <= max_lag, f"{verdict}: newest row {lag.total_seconds() / 60:.1f} min old"


def build_freshness_check(watched: WatchedTable, asset: AssetKey) -> AssetChecksDefinition:
    @asset_check(
        asset=asset,
        name=f"freshness_{watched.table}",
        description=f"The newest {watched.table} row is recent ({watched.loaded_at}).",
        blocking=False,
    )
    def freshness(
        context: AssetCheckExecutionContext,
        trino: TrinoResource,
        freshness_thresholds: FreshnessThresholds,
    ) -> AssetCheckResult:
        [(newest, now)] = trino.query(
            f'SELECT max({watched.loaded_at}), current_timestamp FROM "{watched.table}"'
        )
        passed, description = judge_freshness(
            newest, now, timedelta(minutes=freshness_thresholds.max_lag_minutes)
        )
        context.log.info(description)
        return AssetCheckResult(
            passed=passed,
            severity=AssetCheckSeverity.WARN,
            description=description,
            metadata={
                "newest": str(newest),
                "max_lag_minutes": freshness_thresholds.max_lag_minutes,
            },
        )

    return freshness


def build_freshness_checks(
    asset_key_of: Callable[[str], AssetKey],
    tables: Sequence[WatchedTable] = BRONZE_TABLES,
) -> list[AssetChecksDefinition]:
    """One check per table, on the asset `asset_key_of` names for its staging model."""
    return [build_freshness_check(watched, asset_key_of(watched.asset)) for watched in tables]
