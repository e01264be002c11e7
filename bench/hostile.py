"""Hostile webhooks at volume: bodies built to break a parser, signed correctly, mixed into
the chaos soak's target stream (`TargetSpec.hostile_share`).

Each one must end in a way a person can read: a 4xx, a DLQ record with a reason, or a
quarantine row with a reason. The kinds are the issue's list:

- huge: just over the gateway's size limit (413), or just under it (routed by its id to
  the raw topic, then quarantined by the normalisation job: it is no payment);
- deeply nested: deeper than any parser goes (the gateway dead-letters it: malformed
  JSON), or a few hundred levels inside a routable event (quarantined);
- invalid UTF-8 inside an otherwise valid payment (dead-lettered);
- numbers past 64 bits as the amount of a valid payment (quarantined), or past a double
  (dead-lettered: the gateway reads no number that overflows to infinity);
- 10,000 keys in a routable object that is no payment (quarantined);
- wrong content types: form- or XML-encoded bodies (dead-lettered).

All are Stripe's (routing key `id`), with an id of their own, so every routed one is
found again by provider event id. `hostile_accounting` says where each one ended.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from gateway.settings import MIB
from loadgen.webhooks.events import Generator, Mix, SimEvent

PROVIDER = "stripe"
EVENT_TYPE = "charge.succeeded"
# Deeper than Python's (and Jackson's) parsers go: the gateway cannot read it at all.
UNREADABLE_DEPTH = 100_000
# Deep, but readable: it reaches the normalisation job.
READABLE_DEPTH = 400
MANY_KEYS = 10_000
PAST_A_DOUBLE = "1e400"


class HostileKind(StrEnum):
    HUGE = "hostile_huge"
    DEEP = "hostile_deep"
    INVALID_UTF8 = "hostile_invalid_utf8"
    BIG_NUMBER = "hostile_big_number"
    MANY_KEYS = "hostile_many_keys"
    WRONG_CONTENT_TYPE = "hostile_wrong_content_type"


HOSTILE_KINDS = frozenset(kind.value for kind in HostileKind)


@dataclass(frozen=True)
class HostileEvent:
    """Shaped like the simulator's `SimEvent`, for the target writer and its ledger."""

    provider: str
    kind: HostileKind
    body: bytes
    provider_event_id: str | None
    event_type: str | None
    expected_status: int
    expected_topic: str | None  # "raw", "dlq" or None (nothing written)
    detail: str
    content_type: str = "application/json"

    @property
    def signed_correctly(self) -> bool:
        return True


def hostile_id(run_id: str, n: int) -> str:
    return f"evt_hostile_{run_id}_{n}"


def _head(event_id: str) -> str:
    """The start of a routable object that is no payment (no `data`)."""
    return f'{{"id":"{event_id}","type":"{EVENT_TYPE}"'


@cache
def _many_keys() -> str:
    return ",".join(f'"k{i:05d}":{i}' for i in range(MANY_KEYS))


def _routed(kind: HostileKind, body: bytes, event_id: str, detail: str) -> HostileEvent:
    return HostileEvent(PROVIDER, kind, body, event_id, EVENT_TYPE, 202, "raw", detail)


def _dead_lettered(
    kind: HostileKind, body: bytes, event_id: str, detail: str, content_type: str = ""
) -> HostileEvent:
    return HostileEvent(
        PROVIDER, kind, body, event_id, EVENT_TYPE, 202, "dlq", detail,
        content_type or "application/json",
    )  # fmt: skip


def huge(event_id: str, over: bool) -> HostileEvent:
    head = _head(event_id) + ',"pad":"'
    size = MIB + 1024 if over else MIB - 4096
    body = (head + "p" * (size - len(head) - 2) + '"}').encode()
    if over:
        return HostileEvent(PROVIDER, HostileKind.HUGE, body, event_id, EVENT_TYPE, 413, None,
                            "over the size limit")  # fmt: skip
    return _routed(HostileKind.HUGE, body, event_id, "just under the size limit")


def deep(event_id: str, readable: bool) -> HostileEvent:
    if readable:
        nested = '{"a":' * READABLE_DEPTH + "1" + "}" * READABLE_DEPTH
        body = (_head(event_id) + f',"data":{nested}}}').encode()
        return _routed(HostileKind.DEEP, body, event_id, f"{READABLE_DEPTH} levels")
    body = b"[" * UNREADABLE_DEPTH + b"]" * UNREADABLE_DEPTH
    return _dead_lettered(HostileKind.DEEP, body, event_id, f"{UNREADABLE_DEPTH} levels")


def _payment(rng: random.Random, event_id: str) -> dict:
    """A valid Stripe event with an amount, under the hostile id."""
    generator = Generator(rng.getrandbits(32), Mix(0.0, 0.0, stripe_share=1.0), 1_795_600_800)
    while True:
        provider, event = generator.next_valid()
        if provider == PROVIDER and "amount" in event.get("data", {}).get("object", {}):
            return {**event, "id": event_id}


def invalid_utf8(rng: random.Random, event_id: str) -> HostileEvent:
    body = json.dumps(_payment(rng, event_id), separators=(",", ":")).encode()
    broken = body[:-1] + rng.choice([b',"x":"\xc3\x28"}', b',"x":"\xed\xa0\x80"}', b"\xff}"])
    return _dead_lettered(HostileKind.INVALID_UTF8, broken, event_id, "invalid UTF-8")


def big_number(rng: random.Random, event_id: str) -> HostileEvent:
    event = _payment(rng, event_id)
    number = rng.choice(
        ["18446744073709551616", "-9223372036854775809", "1" + "0" * 30, PAST_A_DOUBLE]
    )
    event["data"]["object"]["amount"] = "@@"
    body = json.dumps(event, separators=(",", ":")).replace('"@@"', number).encode()
    if number == PAST_A_DOUBLE:  # the gateway reads no number a double cannot hold
        return _dead_lettered(HostileKind.BIG_NUMBER, body, event_id, f"amount {number}")
    return _routed(HostileKind.BIG_NUMBER, body, event_id, f"amount {number[:24]}")


def many_keys(event_id: str) -> HostileEvent:
    body = (_head(event_id) + "," + _many_keys() + "}").encode()
    return _routed(HostileKind.MANY_KEYS, body, event_id, f"{MANY_KEYS:,} keys")


def wrong_content_type(event_id: str, xml: bool) -> HostileEvent:
    if xml:
        body = f'<event id="{event_id}" type="{EVENT_TYPE}"/>'.encode()
        return _dead_lettered(
            HostileKind.WRONG_CONTENT_TYPE, body, event_id, "XML", "application/xml"
        )
    body = f"id={event_id}&type={EVENT_TYPE}".encode()
    return _dead_lettered(
        HostileKind.WRONG_CONTENT_TYPE, body, event_id, "form", "application/x-www-form-urlencoded"
    )


def hostile_event(rng: random.Random, run_id: str, n: int) -> HostileEvent:
    """One hostile event for target `n`, of a kind drawn evenly."""
    event_id = hostile_id(run_id, n)
    kind = rng.choice(list(HostileKind))
    if kind is HostileKind.HUGE:
        return huge(event_id, over=rng.random() < 0.5)
    if kind is HostileKind.DEEP:
        return deep(event_id, readable=rng.random() < 0.5)
    if kind is HostileKind.INVALID_UTF8:
        return invalid_utf8(rng, event_id)
    if kind is HostileKind.BIG_NUMBER:
        return big_number(rng, event_id)
    if kind is HostileKind.MANY_KEYS:
        return many_keys(event_id)
    return wrong_content_type(event_id, xml=rng.random() < 0.5)


def with_hostile(
    events: Iterator[SimEvent], count: int, share: float, seed: int, run_id: str
) -> Iterator[SimEvent | HostileEvent]:
    """`count` targets: before each simulated event, a hostile one with probability
    `share` (so the simulated stream is the one without them, only spread out). The
    same for the same arguments: a run can rebuild any target."""
    rng = random.Random(f"hostile:{seed}")

    def mixed() -> Iterator[SimEvent | HostileEvent]:
        for n in itertools.count():
            if rng.random() < share:
                yield hostile_event(rng, run_id, n)
                continue
            event = next(events, None)
            if event is None:
                return
            yield event

    return itertools.islice(mixed(), count)


# -- where each one ended ---------------------------------------------------------------------


@dataclass
class HostileCounts:
    sent: int = 0
    refused: int = 0  # a 4xx answer
    dead_lettered: int = 0  # 2xx, and a DLQ record with a reason
    quarantined: int = 0  # 2xx, and a quarantine row with a reason
    as_payment: int = 0  # 2xx, and a row of `payments`: hostile input taken for a payment
    unanswered: int = 0  # no final answer, even after the retries (5xx, no answer)
    lost: int = 0  # 2xx, and found nowhere

    @property
    def clean(self) -> bool:
        """Every one ended as a 4xx, a DLQ record or a quarantine row with a reason."""
        return self.sent == self.refused + self.dead_lettered + self.quarantined


@dataclass(frozen=True)
class Ending:
    """What the ledger says of a target, and what became of it."""

    kind: str
    key: str  # provider:provider_event_id
    request_id: str
    final_code: int  # the final answer after retries (0: none)


def hostile_accounting(
    endings: Iterable[Ending],
    dlq_reasons: Mapping[str, str],  # request id -> reason header of its DLQ record
    quarantine_reasons: Mapping[str, str],  # provider:provider_event_id -> reason
    payment_keys: set[str],
) -> dict[str, HostileCounts]:
    """Per hostile kind, where its targets ended."""
    counts: dict[str, HostileCounts] = {}
    for ending in endings:
        if ending.kind not in HOSTILE_KINDS:
            continue
        c = counts.setdefault(ending.kind, HostileCounts())
        c.sent += 1
        if 400 <= ending.final_code < 500:
            c.refused += 1
        elif not 200 <= ending.final_code < 300:
            c.unanswered += 1
        elif dlq_reasons.get(ending.request_id):
            c.dead_lettered += 1
        elif quarantine_reasons.get(ending.key):
            c.quarantined += 1
        elif ending.key in payment_keys:
            c.as_payment += 1
        else:
            c.lost += 1
    return counts
