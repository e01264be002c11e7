"""The one test double of the unit tier: a publisher standing in for Kafka, the gateway's
external edge. It records what the gateway would write, or fails as Kafka can."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.publisher import Headers, NotReady, PublishFailed, Unreadiness


@dataclass(frozen=True)
class Written:
    topic: str
    key: str
    value: bytes
    headers: dict[str, str]


@dataclass
class RecordingPublisher:
    written: list[Written] = field(default_factory=list)
    failure: str | None = None  # when set, every write fails with it
    closed: bool = False

    async def publish(self, topic: str, key: str, value: bytes, headers: Headers) -> None:
        if self.failure is not None:
            raise PublishFailed(self.failure)
        decoded = {name: raw.decode() for name, raw in headers}
        self.written.append(Written(topic, key, value, decoded))

    async def ready(self) -> str:
        if self.failure is not None:
            raise NotReady(Unreadiness.KAFKA_UNREACHABLE, self.failure)
        return "recording"

    def close(self) -> None:
        self.closed = True
