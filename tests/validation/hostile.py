"""Hostile and random payloads, shared by the adversarial tests.

`hostile_payloads` are the classic parser killers; `payload_strategy` is hypothesis's
endless supply of random JSON, near-valid events and bytes that are not JSON at all.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from contracts.events import EventType

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
        *extreme_numbers(valid),
        *trailing_garbage(json.dumps(valid).encode()),
        *invalid_utf8(json.dumps(valid).encode()),
        *wrong_json_types(t, valid),
    ]


def with_amount(valid: dict, amount_json: str) -> bytes:
    """`valid` with its amount written as the JSON text given (a number, exactly)."""
    return json.dumps({**valid, "amount": "@@"}).replace('"@@"', amount_json).encode()


def extreme_numbers(valid: dict) -> list[bytes]:
    """Numbers whose cost to read grows with their exponent or length."""
    return [
        with_amount(valid, "1e99999999"),  # over a minute each for BigDecimal to scale
        with_amount(valid, "1e-99999999"),
        json.dumps({**valid, "amount": "-6e-99999999"}).encode(),
        with_amount(valid, "1e600000000"),  # more memory than the JVM has
        with_amount(valid, "1e999999999"),  # past BigInteger's range: fails at once
        with_amount(valid, "-1e-999999999"),
        with_amount(valid, "1E+2147483647"),
        with_amount(valid, "1" * 999),  # the longest number Jackson reads
        with_amount(valid, "1" * 1001),  # one Jackson refuses: not JSON
        json.dumps({**valid, "amount": "1e999999999"}).encode(),
        json.dumps({**valid, "amount": "9" * 100_000}).encode(),
        json.dumps({**valid, "amount": "12.5000000000000000001"}).encode(),
        json.dumps({**valid, "risk_score": "1e-999999999"}).encode(),
        json.dumps({**valid, "created_at": "9" * 100_000}).encode(),
        json.dumps({**valid, "customer_id": "c" + " " * 300_000 + "c"}).encode(),
    ]


def trailing_garbage(body: bytes) -> list[bytes]:
    return [body + b" junk", body + body, body + b"\n" + body, body + b" x}", body + b"]",
            body + b"}", body + b", 1]", body + b', "k": 1}', body + b"\x00"]  # fmt: skip


def invalid_utf8(body: bytes) -> list[bytes]:
    return [
        b"\xff" + body,
        body.replace(b'"USD"', b'"US\xc3\x28"'),
        body[:-1] + b', "x": "\xc0\xaf"}',  # overlong
        body[:-1] + b', "x": "\xed\xa0\x80"}',  # an encoded surrogate
        body + b"\xe2\x82",  # truncated
        b"base64:" + body,  # valid UTF-8 that looks like a stored payload
    ]


def wrong_json_types(t: EventType, valid: dict) -> list[bytes]:
    """An object or array in every field, one field at a time."""
    containers: list[object] = [{"v": 1}, [1, "a"], {}, []]
    return [
        json.dumps({**valid, f.name: containers[i % len(containers)]}).encode()
        for i, f in enumerate(t.fields)
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
