"""The console's settings: its own (CONSOLE_) and Trino's, which are the lakehouse's."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from observability.console.settings import ConsoleSettings


def test_the_defaults_are_the_local_platforms_addresses():
    settings = ConsoleSettings()
    assert settings.port == 8090
    assert settings.prometheus_url == "http://127.0.0.1:9090"
    assert settings.flink_url == "http://127.0.0.1:8081"
    assert settings.temporal_ui_url == "http://127.0.0.1:8233"
    assert settings.dagster_url == "http://127.0.0.1:3000"
    assert settings.sparkline_window_minutes == 15


def test_the_environment_sets_the_console_and_trino_through_the_lakehouse(monkeypatch):
    monkeypatch.setenv("CONSOLE_PORT", "18090")
    monkeypatch.setenv("CONSOLE_SPARKLINE_WINDOW_MINUTES", "60")
    monkeypatch.setenv("LAKEHOUSE_TRINO_PORT", "18080")
    monkeypatch.setenv("LAKEHOUSE_NAMESPACE", "it_console")
    settings = ConsoleSettings()
    assert (settings.port, settings.sparkline_window_minutes) == (18090, 60)
    assert (settings.lakehouse.trino_port, settings.lakehouse.namespace) == (18080, "it_console")


@pytest.mark.parametrize(
    "bad", [{"port": 0}, {"sparkline_points": 1}, {"evaluation_delay_seconds": -1}]
)
def test_bad_values_are_refused(bad):
    with pytest.raises(ValidationError):
        ConsoleSettings(**bad)
