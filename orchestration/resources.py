"""Typed resources: where Trino and Prometheus are, and the thresholds the checks and
maintenance use."""

from __future__ import annotations

import math
import time
from typing import Any

import trino.dbapi
from dagster import ConfigurableResource
from pydantic import Field

from observability.prometheus import PrometheusClient
from observability.thresholds import AlertThresholds


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


class PrometheusResource(ConfigurableResource):
    """The platform's Prometheus, which the monitoring assets read every figure from."""

    url: str
    timeout_seconds: float = Field(default=5.0, gt=0)
    # Figures are read as of this long ago: a scrape's samples land up to its timeout
    # (10 s for the exporter) after their timestamp, so by then every one has, and the
    # same query at the recorded `evaluated_at` gives the same answer later.
    evaluation_delay_seconds: float = Field(default=15.0, ge=0)

    def client(self) -> PrometheusClient:
        return PrometheusClient(self.url, timeout=self.timeout_seconds)

    def evaluation_time(self) -> float:
        """The instant every figure of a materialisation is read at (whole seconds: it
        survives the metadata's round trip exactly)."""
        return float(math.floor(time.time() - self.evaluation_delay_seconds))


class AlertThresholdsResource(ConfigurableResource):
    """The alert rules' thresholds (observability.thresholds.AlertThresholds, the one set)
    that the monitoring checks use: definitions.py builds it from the environment."""

    consumer_lag_messages: int = Field(ge=0)
    for_minutes: float = Field(ge=0)
    quarantine_share: float = Field(ge=0, le=1)
    no_data_minutes: float = Field(gt=0)
    flink_backpressure: float = Field(ge=0, le=1)

    @classmethod
    def from_settings(cls, thresholds: AlertThresholds) -> AlertThresholdsResource:
        return cls(
            consumer_lag_messages=thresholds.consumer_lag_messages,
            for_minutes=thresholds.for_minutes,
            quarantine_share=thresholds.quarantine_share,
            no_data_minutes=thresholds.no_data_minutes,
            flink_backpressure=thresholds.flink_backpressure,
        )


class MaintenanceConfig(ConfigurableResource):
    """Which namespaces the maintenance job compacts, and how (lakehouse/maintenance.py)."""

    namespaces: list[str]
    file_size_threshold: str = "100MB"
    snapshot_retention: str = "1d"
    orphan_file_retention: str = "7d"
