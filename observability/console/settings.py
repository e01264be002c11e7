"""The console's settings, from the environment (prefix CONSOLE_).

Trino's coordinates (host, port, user, catalog, namespace) are the lakehouse's own
(`lakehouse.settings`, prefix LAKEHOUSE_), so the console reads the tables every engine does.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse.settings import LakehouseSettings

# The console listens on loopback only: it shows raw payloads of rejected messages.
HOST = "127.0.0.1"


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", frozen=True, extra="ignore")

    port: int = Field(default=8090, ge=1, le=65535)
    prometheus_url: str = Field(default="http://127.0.0.1:9090", min_length=1)
    flink_url: str = Field(default="http://127.0.0.1:8081", min_length=1)
    temporal_ui_url: str = Field(default="http://127.0.0.1:8233", min_length=1)
    dagster_url: str = Field(default="http://127.0.0.1:3000", min_length=1)
    # How much history each sparkline draws, and in how many points (61: one every 15 s).
    sparkline_window_minutes: float = Field(default=15.0, gt=0)
    sparkline_points: int = Field(default=61, ge=2, le=1000)
    # The page's Prometheus values are those of this many seconds ago: a recording rule's
    # sample is written a moment after the instant it is stamped with, so an instant that
    # close to now could still change, and the page's numbers would not be reproducible.
    evaluation_delay_seconds: float = Field(default=5.0, ge=0)
    # Prometheus or Flink not answering by then is shown as unavailable; the page still renders
    # (Trino queries time out after the client's 30 s).
    http_timeout_seconds: float = Field(default=5.0, gt=0)
    # The page reloads itself this often (0: never).
    refresh_seconds: int = Field(default=30, ge=0)
    lakehouse: LakehouseSettings = Field(default_factory=LakehouseSettings)
