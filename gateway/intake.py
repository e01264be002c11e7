"""What the gateway does with a request's body: read it within the size limit, and decide
where a correctly signed body goes (the raw topic with its key, or the DLQ with a reason).

Only what routing needs is checked here; whether the event makes sense is the
normalisation job's call (it quarantines with reasons).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from contracts.reasons import Reason
from contracts.topics import INGESTION_DLQ
from gateway.providers.base import MissingRoutingField, Provider

# A client's X-Request-Id is kept only in this shape: it becomes the DLQ's Kafka key, a
# header and a log field, so its length and characters are bounded.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class BodyTooLarge(Exception):
    pass


class BadContentLength(Exception):
    pass


@dataclass(frozen=True)
class Route:
    topic: str  # the contract's name, before any test prefix
    key: str | None  # None: the DLQ, keyed by the request id
    reason: Reason | None = None
    detail: str = ""


def is_usable_request_id(sent: str) -> bool:
    return REQUEST_ID.fullmatch(sent) is not None


def check_declared_length(content_length: str | None, limit: int) -> None:
    """Refuses up front what announces itself as too large."""
    if content_length is None:
        return
    try:
        declared = int(content_length)
    except ValueError:
        raise BadContentLength(f"Content-Length {content_length[:40]!r} is not a number") from None
    if declared > limit:
        raise BodyTooLarge(f"Content-Length {declared} is over the limit of {limit} bytes")


async def read_limited(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The body, stopping as soon as it passes `limit` (a missing or lying Content-Length
    must not make the gateway buffer an unbounded body)."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"body is over the limit of {limit} bytes")
    return bytes(body)


def parse_json(body: bytes) -> Any:
    """The body's one parse. orjson is strict JSON, as the Flink job's parser is: invalid
    UTF-8, NaN/Infinity and nesting past 1,024 levels raise JSONDecodeError (a ValueError)."""
    return orjson.loads(body)


def route(provider: Provider, body: bytes) -> Route:
    try:
        event = parse_json(body)
    except ValueError as exc:
        return Route(INGESTION_DLQ, None, Reason.MALFORMED_JSON, type(exc).__name__)
    if not isinstance(event, dict):
        return Route(INGESTION_DLQ, None, Reason.NOT_A_JSON_OBJECT, type(event).__name__)
    try:
        key = provider.routing_key(event)
    except MissingRoutingField as exc:
        return Route(INGESTION_DLQ, None, Reason.MISSING_ROUTING_FIELD, str(exc))
    return Route(provider.raw_topic, key)
