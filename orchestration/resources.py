"""Typed resources: where Trino is, and the thresholds the checks and maintenance use."""

from typing import Any

import trino.dbapi
from dagster import ConfigurableResource
from pydantic import Field


class TrinoResource(ConfigurableResource):
    """Trino on the `lakehouse` catalog, reading the streaming jobs' namespace."""

    host: str
    port: int
    user: str
    catalog: str
    source_schema: str = Field(description="namespace the streaming jobs write to")

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        connection = trino.dbapi.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            catalog=self.catalog,
            schema=self.source_schema,
        )
        try:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            connection.close()


class QuarantineThresholds(ConfigurableResource):
    """A table fails its quarantine check when, within the window, more messages than
    `max_rows` or more than `max_rate_pct` percent of its messages were quarantined."""

    window_minutes: int = Field(default=60, gt=0)
    max_rows: int = Field(default=100, ge=0)
    max_rate_pct: float = Field(default=10.0, ge=0, le=100)


class FreshnessThresholds(ConfigurableResource):
    """A bronze table is stale when its newest row was ingested longer ago than this."""

    max_lag_minutes: int = Field(default=60, gt=0)


class MaintenanceConfig(ConfigurableResource):
    """Which namespaces the maintenance job compacts, and how (lakehouse/maintenance.py)."""

    namespaces: list[str]
    file_size_threshold: str = "100MB"
    snapshot_retention: str = "1d"
    orphan_file_retention: str = "7d"
