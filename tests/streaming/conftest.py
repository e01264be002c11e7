"""Fixtures for the streaming tests: JR, and the Kafka of the local platform."""

from __future__ import annotations

import os

import pytest

from streaming.settings import KafkaSettings, LoadSettings
from streaming.topics import KafkaUnavailable, admin_client, existing_topics


@pytest.fixture(scope="session")
def load_settings() -> LoadSettings:
    settings = LoadSettings()
    if not os.access(settings.jr_bin, os.X_OK):
        pytest.fail(f"JR is not installed at {settings.jr_bin}: run `make setup`")
    return settings


@pytest.fixture(scope="session")
def kafka_settings() -> KafkaSettings:
    settings = KafkaSettings()
    try:
        existing_topics(admin_client(settings), settings.bootstrap_servers, timeout=10)
    except KafkaUnavailable as exc:
        pytest.fail(f"{exc} (or use `make test-integration`)")
    return settings
