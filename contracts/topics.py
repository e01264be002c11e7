"""The Kafka topics of contract §2: each name spelled here once, with its value and key."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.events import EVENT_TYPES

# The gateway accepts bodies up to 1 MiB (contract §7); with headers and batch overhead a
# record is a little larger than the body, and the broker's default limit (1,048,588 bytes)
# would turn a valid webhook into a 503 the provider retries forever.
WEBHOOK_MAX_MESSAGE_BYTES = 2 * 1024 * 1024

STRIPE_RAW = "payments.stripe.raw"
SQUARE_RAW = "payments.square.raw"
INGESTION_DLQ = "payments.ingestion.dlq"
NORMALIZED = "payments.normalized"
ENRICHED = "payments.enriched"

# The raw webhook topic of each provider the gateway accepts.
WEBHOOK_RAW_TOPICS: dict[str, str] = {"stripe": STRIPE_RAW, "square": SQUARE_RAW}


@dataclass(frozen=True)
class Topic:
    name: str
    value: str
    key: str
    max_message_bytes: int | None = None


# The JR event types, the raw topic each one is produced to and the id it is keyed by,
# from the one definition of the event types.
RAW_EVENT_TOPICS: dict[str, str] = {t.name: t.topic for t in EVENT_TYPES}
EVENT_ID_FIELDS: dict[str, str] = {t.name: t.id_field for t in EVENT_TYPES}

TOPICS: tuple[Topic, ...] = (
    *(
        Topic(topic, value="one JSON object per message", key=EVENT_ID_FIELDS[event_type])
        for event_type, topic in RAW_EVENT_TOPICS.items()
    ),
    *(
        Topic(
            topic,
            value="request body bytes",
            key="merchant / account id",
            max_message_bytes=WEBHOOK_MAX_MESSAGE_BYTES,
        )
        for topic in WEBHOOK_RAW_TOPICS.values()
    ),
    Topic(
        INGESTION_DLQ,
        value="payloads that could not be accepted, reason in a header",
        key="request id",
        max_message_bytes=WEBHOOK_MAX_MESSAGE_BYTES,
    ),
    Topic(NORMALIZED, value="unified events (contract §5)", key="merchant_id"),
    Topic(ENRICHED, value="enrichment results (contract §6)", key="event_id"),
)
TOPIC_NAMES: tuple[str, ...] = tuple(topic.name for topic in TOPICS)
MAX_MESSAGE_BYTES: dict[str, int] = {
    topic.name: topic.max_message_bytes for topic in TOPICS if topic.max_message_bytes
}


def max_message_bytes(name: str) -> int | None:
    """The record size limit of a contract topic, or of a prefixed copy of one (tests,
    benchmarks: GATEWAY_TOPIC_PREFIX); None keeps the broker's default."""
    for contract_name, limit in MAX_MESSAGE_BYTES.items():
        if name == contract_name or name.endswith(f".{contract_name}"):
            return limit
    return None
