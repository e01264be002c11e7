"""Fixtures for the streaming tests: the Kafka of the local platform."""

from __future__ import annotations

import pytest

from streaming.settings import KafkaSettings
from streaming.topics import KafkaUnavailable, admin_client, existing_topics


@pytest.fixture(scope="session")
def kafka_settings() -> KafkaSettings:
    settings = KafkaSettings()
    try:
        existing_topics(admin_client(settings), settings.bootstrap_servers, timeout=10)
    except KafkaUnavailable as exc:
        pytest.fail(f"{exc} (or use `make test-integration`)")
    return settings
