"""`ensure_topics`: creates the missing Kafka topics of contract §2 (`contracts.topics`).

`python -m streaming.topics` (`make topics`) runs it against KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)

from contracts.topics import TOPIC_NAMES, max_message_bytes
from streaming.settings import KafkaSettings, TopicSettings


class KafkaUnavailable(Exception):
    """The broker did not answer."""


@dataclass
class EnsureResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


def admin_client(settings: KafkaSettings) -> AdminClient:
    # log_level 0: while the broker is down librdkafka would log every failed connect.
    return AdminClient({"bootstrap.servers": settings.bootstrap_servers, "log_level": 0})


def existing_topics(admin: AdminClient, bootstrap: str, timeout: float = 10.0) -> set[str]:
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        error = exc.args[0]
        reason = error.str() if isinstance(error, KafkaError) else str(error)
        raise KafkaUnavailable(
            f"Kafka at {bootstrap} is not reachable ({reason}): start the platform with `make up`"
        ) from exc
    return set(metadata.topics)


def new_topic(name: str, settings: TopicSettings) -> NewTopic:
    config = {"retention.ms": str(settings.retention_ms), "cleanup.policy": "delete"}
    limit = max_message_bytes(name)
    if limit is not None:
        config["max.message.bytes"] = str(limit)
    return NewTopic(
        name,
        num_partitions=settings.partitions,
        replication_factor=settings.replication_factor,
        config=config,
    )


def raise_message_limits(admin: AdminClient, names: list[str], timeout: float) -> None:
    """Topics created before the limit was part of their definition get it now."""
    resources = [
        ConfigResource(
            ConfigResource.Type.TOPIC,
            name,
            incremental_configs=[
                ConfigEntry(
                    "max.message.bytes",
                    str(max_message_bytes(name)),
                    incremental_operation=AlterConfigOpType.SET,
                )
            ],
        )
        for name in names
        if max_message_bytes(name) is not None
    ]
    if resources:
        for future in admin.incremental_alter_configs(resources, request_timeout=timeout).values():
            future.result(timeout=timeout)


def _already_exists(exc: BaseException) -> bool:
    error: Any = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    return isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS


def ensure_topics(
    settings: KafkaSettings | None = None,
    names: tuple[str, ...] = TOPIC_NAMES,
    report: Callable[[str], None] = print,
    timeout: float = 30.0,
) -> EnsureResult:
    """Creates each of `names` that does not exist yet; idempotent, and safe against a
    concurrent creator. Returns (and reports) what it created and what it found."""
    settings = settings or KafkaSettings()
    admin = admin_client(settings)
    present = existing_topics(admin, settings.bootstrap_servers)
    result = EnsureResult(existing=[name for name in names if name in present])
    missing = [name for name in names if name not in present]
    if missing:
        futures = admin.create_topics(
            [new_topic(name, settings.topics) for name in missing], request_timeout=timeout
        )
        for name, future in futures.items():
            try:
                future.result(timeout=timeout)
                result.created.append(name)
            except KafkaException as exc:
                if not _already_exists(exc):
                    raise
                result.existing.append(name)
        _wait_until_led(admin, settings.bootstrap_servers, result.created, timeout)
    raise_message_limits(admin, result.existing, timeout)
    for name in names:
        if name in result.created:
            report(
                f"topics: created {name} ({settings.topics.partitions} partitions, "
                f"retention {settings.topics.retention_hours} h)"
            )
        else:
            report(f"topics: found   {name}")
    return result


def _wait_until_led(admin: AdminClient, bootstrap: str, names: list[str], timeout: float):
    """Creation is acknowledged by the controller before the brokers list the topic and
    before each partition has a leader; a fetch in between fails with NOT_LEADER."""
    deadline = time.monotonic() + timeout
    while not all(_has_leaders(admin, bootstrap, name) for name in names):
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"created topics have no partition leaders after {timeout:.0f}s: {names}"
            )
        time.sleep(0.2)


def _has_leaders(admin: AdminClient, bootstrap: str, name: str) -> bool:
    try:
        topic = admin.list_topics(name, timeout=10).topics.get(name)
    except KafkaException as exc:
        raise KafkaUnavailable(f"Kafka at {bootstrap} stopped answering: {exc}") from exc
    if topic is None or topic.error is not None or not topic.partitions:
        return False
    return all(p.error is None and p.leader >= 0 for p in topic.partitions.values())


def delete_topics(settings: KafkaSettings, names: tuple[str, ...], timeout: float = 30.0) -> None:
    """Deletes `names`, waiting for the controller to acknowledge; for test and demo topics."""
    admin = admin_client(settings)  # held until the futures resolve: dropping it cancels them
    for future in admin.delete_topics(list(names), request_timeout=timeout).values():
        future.result(timeout=timeout)


def main() -> int:
    settings = KafkaSettings()
    try:
        result = ensure_topics(settings)
    except (KafkaUnavailable, KafkaException, TimeoutError) as exc:
        print(f"topics: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"topics: {len(result.created)} created, {len(result.existing)} already there "
        f"on {settings.bootstrap_servers}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
