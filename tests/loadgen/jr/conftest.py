"""Fixtures for the JR driver's tests: JR itself, and the platform's Kafka."""

from __future__ import annotations

import os

import pytest

from loadgen.jr.settings import LoadSettings
from tests.streaming.conftest import kafka_settings

__all__ = ["kafka_settings", "load_settings"]


@pytest.fixture(scope="session")
def load_settings() -> LoadSettings:
    settings = LoadSettings()
    if not os.access(settings.jr_bin, os.X_OK):
        pytest.fail(f"JR is not installed at {settings.jr_bin}: run `make setup`")
    return settings
