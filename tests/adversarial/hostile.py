"""Hostile and random payloads, shared by the adversarial tests.

`hostile_payloads` are the classic parser killers; `payload_strategy` is hypothesis's
endless supply of random JSON, near-valid events and bytes that are not JSON at all.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from validation.rules import EventType

# Kafka's default producer limit is 1,000,000 bytes per message, headers included.
ONE_MB = 1_000_000 - 1024


def hostile_payloads(t: EventType) -> list[bytes | None]:
    valid = {t.id_field: "x_1", "customer_id": "c", "charge_id": "ch", "currency": "USD",
             "amount": 1, "status": "active", "created_at": "2026-01-01T00:00:00Z"}  # fmt: skip
    return [
        None,  # a tombstone: no value at all
        b"",
        b" ",
        b"null",
        b"[]",
        b'"a string"',
        b"42",
        b"[" * 50_000 + b"]" * 50_000,  # deep nesting
        b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
        json.dumps({**valid, "amount": 10**400}).encode(),  # a number no double holds
        json.dumps({**valid, "amount": "1e999999"}).encode(),
        json.dumps({**valid, "amount": -(10**30)}).encode(),
        json.dumps({**valid, "created_at": 10**30}).encode(),
        b'{"amount": NaN, "currency": "USD"}',  # not JSON, though Python writes it
        b'{"amount": Infinity}',
        json.dumps({**valid, "amount": "NaN"}).encode(),
        b"\xff\xfe\xfd not utf-8",
        b'{"' + t.id_field.encode() + b'": "\xc3\x28"}',  # invalid UTF-8 inside JSON
        b'{"' + t.id_field.encode() + b'": "\\ud800"}',  # a lone surrogate escape
        b"\x00" * 100,
        json.dumps({**valid, t.id_field: "x" * 10_000}).encode(),
        json.dumps({**valid, "pad": "p" * ONE_MB})[:ONE_MB].encode(),  # 1 MB, truncated
        b'{"' + t.id_field.encode() + b'": "dup", "' + t.id_field.encode() + b'": "dup2"}',
        json.dumps({**valid, "currency": "usd\u200b"}).encode(),  # zero-width space
        json.dumps({**valid, "status": "ACTIVE\t\n"}).encode(),
    ]


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**25), max_value=10**25)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
field_values = (
    json_scalars
    | st.sampled_from(["", " null ", "N/A", "usd", "JPY", "XXX", "12.50", "-1", "1e3", "0.001",
                       "2026-01-31 23:59:59", "2026-01-31T23:59:59+05:30", "succeeded", "active"])
    | st.integers(min_value=0, max_value=2_000_000_000_000)
)  # fmt: skip


def event_like(t: EventType) -> st.SearchStrategy[bytes]:
    """Objects with the event's own field names and random values: near-valid events."""
    names = [f.name for f in t.fields]
    return st.dictionaries(st.sampled_from(names), field_values, max_size=len(names)).map(
        lambda event: json.dumps(event).encode()
    )


def payload_strategy(t: EventType) -> st.SearchStrategy[bytes]:
    return st.one_of(
        event_like(t),
        event_like(t),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
    )
