"""The shared case table: every rule, null variant, timestamp form and malformed message.

Both the Python rules and the Flink SQL rendering run these cases; `EXPECTED` pins the
contract's answer for the cases where a person would check it by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from contracts.events import EVENT_TYPES, EventType


class Raw(str):
    """JSON written exactly as given: a number (12.50 stays 12.50), or any JSON text."""


MISSING = object()


@dataclass(frozen=True)
class Case:
    name: str
    event_type: EventType
    payload: str | bytes | None  # bytes: the message is not (only) UTF-8 text


BASE: dict[str, dict[str, Any]] = {
    "charges": {
        "charge_id": "ch_3PqXa1",
        "customer_id": "cus_9Ab",
        "merchant_id": "acct_1Mx",
        "amount": Raw("12.50"),
        "currency": "usd",
        "status": "succeeded",
        "provider": "Stripe",
        "payment_method": "card",
        "card_brand": "VISA",
        "card_last4": "4242",
        "country": "NA",
        "failure_code": None,
        "failure_message": None,
        "risk_score": Raw("0.12"),
        "created_at": "2026-01-31 23:59:59",
    },
    "refunds": {
        "refund_id": "re_1Qz",
        "charge_id": "ch_3PqXa1",
        "customer_id": "cus_9Ab",
        "amount": Raw("5"),
        "currency": "EUR",
        "reason": "Requested_By_Customer",
        "status": "succeeded",
        "provider": "adyen",
        "support_ticket_id": "T-100",
        "created_at": "2026-01-31T23:59:59Z",
    },
    "disputes": {
        "dispute_id": "dp_1Rt",
        "charge_id": "ch_3PqXa1",
        "customer_id": "cus_9Ab",
        "amount": Raw("500"),
        "currency": "JPY",
        "reason": "fraudulent",
        "status": "needs_response",
        "evidence_due_by": "2026-02-14T00:00:00+09:00",
        "provider": "stripe",
        "created_at": Raw("1769903999"),
    },
    "subscriptions": {
        "subscription_id": "sub_1Zz",
        "customer_id": "cus_9Ab",
        "plan_id": "plan_pro",
        "status": "trialing",
        "amount": Raw("0"),
        "currency": "BHD",
        "billing_interval": "Month",
        "trial_start": "2026-01-01 00:00:00",
        "trial_end": Raw("1769903999000"),
        "promo_code": "WELCOME",
        "discount_pct": "15",
        "provider": "braintree",
        "created_at": "2026-01-01T08:00:00.250-05:00",
    },
}


def render(fields: dict[str, Any]) -> str:
    raw_numbers: dict[str, str] = {}
    document: dict[str, Any] = {}
    for key, value in fields.items():
        if value is MISSING:
            continue
        if isinstance(value, Raw):
            marker = f"@@raw{len(raw_numbers)}@@"
            raw_numbers[f'"{marker}"'] = str(value)
            value = marker
        document[key] = value
    text = json.dumps(document, ensure_ascii=False)
    for marker, number in raw_numbers.items():
        text = text.replace(marker, number)
    return text


def mutations(t: EventType) -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, dict[str, Any]]] = [("valid", {})]
    null_like = ["", "null", " NULL ", "None", "nil", "undefined", "N/A", "n/a\t", None, MISSING]
    cases += [(f"id null-like {v!r}", {t.id_field: v}) for v in null_like]
    cases += [
        ("reference missing", {t.reference_field: MISSING}),
        ("reference 'NA' is a value", {t.reference_field: "NA"}),
    ]
    currencies = [" usd ", "Usd", "XXX", "XTS", "XAU", "XDR", "ABC", "US", "", "HRK", MISSING, 840]
    cases += [(f"currency {v!r}", {"currency": v}) for v in currencies]
    amounts = [
        Raw("12.50"),
        "12.50",
        Raw("1e2"),
        "1E2",
        "abc",
        "12,50",
        Raw("0"),
        Raw("-5"),
        "-0.01",
        Raw("1000000"),
        Raw("1000000.01"),
        Raw("1E400"),
        "1" * 40,
        True,
        {"v": 1},
        [1],
        Raw("0.0000000000000000005"),
        " 12.5 ",
        "+5",
        ".5",
        "5.",
        "NaN",
        "Infinity",
        Raw("-0.0"),
        "null",
        MISSING,
        Raw("12.345"),
        Raw("12.3400"),
        # Exponents and lengths: bounded, and answered without scaling the number.
        # Java's BigDecimal scales these digit by digit: over a minute each for 1e99999999
        # on this machine, growing faster than the exponent; past a few 1e8 the scaling
        # needs more memory than the JVM has.
        Raw("1e99999999"),
        "1E-99999999",
        Raw("-1e600000000"),
        Raw("1e-600000000"),
        Raw("1e999999999"),
        "1E999999999",
        Raw("1e-999999999"),
        "-1e999999999",
        "1E+999",
        "1e-999",
        "1e1000",
        Raw("0e-999"),
        "0.00000000000000000000e5",
        "9" * 40,
        "1" + "0" * 40,
        "1." + "0" * 40,
        "1." + "0" * 41,
        "5\u2028",
        # Precision and sign on the number as written, never rounded.
        "12.5000000000000000001",
        Raw("12.50000000000000000010"),
        Raw("1e-19"),
        "1000000.0000000000000000001",
        "999999.99999999999999999999",
        "100e-2",
        "1.2345e2",
        " " * 5000 + "5" + " " * 5000,
    ]
    cases += [(f"amount {v!r}", {"amount": v}) for v in amounts]
    cases += [
        ("JPY 10.50 too precise", {"currency": "JPY", "amount": Raw("10.50")}),
        ("JPY 100.00 fine", {"currency": "jpy", "amount": "100.00"}),
        ("USD 1.2345 too precise", {"currency": "USD", "amount": "1.2345"}),
        ("BHD 1.234", {"currency": "BHD", "amount": Raw("1.234")}),
        ("BHD 1.2345 too precise", {"currency": "bhd", "amount": Raw("1.2345")}),
        ("CLF 4 decimals", {"currency": "CLF", "amount": "3.1234"}),
        ("negative, too precise", {"currency": "USD", "amount": Raw("-1.005")}),
        ("invalid currency skips precision", {"currency": "XTS", "amount": Raw("1.23456")}),
        ("too large and too precise", {"currency": "JPY", "amount": Raw("2000000.5")}),
        ("JPY 1.5e1 is whole", {"currency": "JPY", "amount": Raw("1.5e1")}),
        ("BHD 12345e-4 too precise", {"currency": "BHD", "amount": "12345e-4"}),
        ("JPY 1e-30 too precise", {"currency": "JPY", "amount": Raw("1E-30")}),
    ]
    timestamps = [
        "2026-01-31 23:59:59",
        "2026-01-31 23:59:59.123",
        "2026-01-31 23:59:59.123456",
        "2026-01-31T23:59:59Z",
        "2026-01-31T23:59:59.5+05:30",
        "2026-01-31T23:59:59-08:00",
        "2026-01-01T00:30:00+01:00",
        Raw("1700000000"),
        Raw("1700000000123"),
        "1700000000",
        "yesterday",
        "2026-13-45 99:99:99",
        "2026-02-30 10:00:00",
        "2024-02-29 10:00:00",
        "2026-01-31T23:59:59+19:00",
        "2026-01-31 24:00:00",
        Raw("99999999999999999"),
        Raw("1.7e9"),
        Raw("-5"),
        MISSING,
        "null",
        "2026-01-31",
        "2026-01-31 23:59",
        "2026-01-31T23:59:59",
        "2026-01-31 23:59:59.1234567",
        " 2026-01-31 23:59:59 ",
    ]
    cases += [(f"created_at {v!r}", {"created_at": v}) for v in timestamps]
    statuses = [t.statuses[-1].upper(), f"  {t.statuses[0]} ", "refunded?", MISSING, "N/A"]
    cases += [(f"status {v!r}", {"status": v}) for v in statuses]
    cases += [
        (
            "every check fails",
            {
                t.id_field: None,
                t.reference_field: "",
                "currency": "ABC",
                "amount": Raw("-5"),
                "created_at": "soon",
                "status": "??",
            },
        ),
        ("unknown extra fields", {"extra": {"nested": [1, 2]}, "_meta": "x"}),
        ("unicode text", {"customer_id": "cus_café ☕"}),
    ]
    cases += container_cases(t)
    return cases


def nested(depth: int) -> Raw:
    """`depth` levels of objects, innermost holding 1, as JSON text."""
    return Raw('{"a":' * depth + "1" + "}" * depth)


# A container where a scalar is expected, spaced and escaped so that its JSON text (as
# Jackson writes it back) differs from what was sent.
CONTAINER = Raw(
    '{ "n": "a\\"b\\\\c\\u0001\\u001f\\b\\u2028\u00e9",'
    ' "x": [1.50, -0, 1e2, true, null, -0.0, 0E-3, {}] }'
)


def container_cases(t: EventType) -> list[tuple[str, dict[str, Any]]]:
    optional_text = next(f.name for f in t.fields if f.name not in (t.id_field, t.reference_field)
                         and f.kind.value == "text")  # fmt: skip
    return [
        ("id is an object", {t.id_field: {"id": "x_1"}}),
        ("reference is an array", {t.reference_field: ["c", 1]}),
        ("reference is an empty object", {t.reference_field: {}}),
        ("currency is an object", {"currency": {"code": "USD"}}),
        ("currency is an array", {"currency": ["USD"]}),
        ("created_at is an object", {"created_at": {"t": "2026-01-31 23:59:59"}}),
        ("created_at is an array", {"created_at": [Raw("1769903999")]}),
        ("status is an array", {"status": [t.statuses[0]]}),
        ("status is an object", {"status": {}}),
        ("optional text is a container", {optional_text: CONTAINER}),
        ("escapes and numbers in a container", {t.id_field: CONTAINER}),
        ("nested 999 deep is JSON", {"extra": nested(998)}),
        ("nested 1000 deep is too deep", {"extra": nested(999)}),
        ("1000-digit number is JSON", {"extra": Raw("7" * 1000)}),
        ("1001-digit number is not", {"extra": Raw("7" * 1001)}),
        ("1000 digits with fraction and exponent", {"extra": Raw(f"{'7' * 500}.{'7' * 498}e12")}),
        ("1001 digits with fraction and exponent", {"extra": Raw(f"{'7' * 500}.{'7' * 499}e12")}),
        ("member name of 50000", {"k" * 50_000: 1}),
        ("member name of 50001", {"k" * 50_001: 1}),
    ]  # fmt: skip


def optional_field_cases(t: EventType) -> list[tuple[str, dict[str, Any]]]:
    by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "charges": [
            ("risk_score text", {"risk_score": "high"}),
            ("risk_score string number", {"risk_score": " 0.73 "}),
            ("card brand case", {"card_brand": " MasterCard "}),
        ],
        "disputes": [("evidence_due_by unparseable", {"evidence_due_by": "next week"})],
        "subscriptions": [
            ("discount text", {"discount_pct": "ten"}),
            ("billing interval", {"billing_interval": " YEAR "}),
            ("negative subscription", {"amount": Raw("-0.5")}),
            ("trial_end epoch seconds", {"trial_end": Raw("1769903999")}),
        ],
        "refunds": [("reason case", {"reason": " DUPLICATE "})],
    }
    return by_type[t.name]


MALFORMED = [
    ("not json", "not json"),
    ("truncated", '{"id": "x", "amount": 1'),
    ("array", "[1, 2]"),
    ("string", '"just a string"'),
    ("number", "42"),
    ("empty", ""),
    ("tombstone", None),
    ("NaN literal", '{"amount": NaN}'),
    ("single quotes", "{'a': 1}"),
]


def after_the_object(valid: str) -> list[tuple[str, str]]:
    """Text after a valid object: whatever it is, the message is not one JSON object."""
    return [
        ("text after the object", valid + " trailing"),
        ("two objects", valid + valid),
        ("two JSON lines", valid + "\n" + valid),
        ("garbage ending in a brace", valid + " junk}"),
        ("a closing bracket", valid + "]"),
        ("a closing brace", valid + "}"),
        ("a comma and a value", valid + ", 1]"),
        ("a comma and a member", valid + ', "k": 1}'),
        ("a comment", valid + " // note"),
        ("a NUL", valid + "\u0000"),
    ]


def byte_cases(valid: str) -> list[tuple[str, bytes]]:
    """Messages as bytes: invalid UTF-8 anywhere is MALFORMED_JSON, kept as read."""
    body = valid.encode()
    return [
        ("not UTF-8 at all", b"\xff\xfe\xfd not utf-8"),
        ("invalid UTF-8 inside a string", body.replace(b'"', b'"\xc3\x28', 1)),
        ("overlong encoding", body[:-1] + b',"x":"\xc0\xaf"}'),
        ("encoded surrogate", body[:-1] + b',"x":"\xed\xa0\x80"}'),
        ("beyond U+10FFFF", body[:-1] + b',"x":"\xf4\x90\x80\x80"}'),
        ("truncated sequence at the end", body + b"\xe2\x82"),
        ("UTF-8 that starts like the base64 marker", b"base64:" + body),
        ("byte order mark", b"\xef\xbb\xbf" + body),
        ("valid multi-byte UTF-8", body[:-1] + ',"x":"é ☕ 😀"}'.encode()),
    ]


def all_cases() -> list[Case]:
    cases = []
    for t in EVENT_TYPES:
        for name, overrides in mutations(t) + optional_field_cases(t):
            cases.append(Case(f"{t.name}: {name}", t, render(BASE[t.name] | overrides)))
        for name, payload in MALFORMED:
            cases.append(Case(f"{t.name}: malformed {name}", t, payload))
        valid = render(BASE[t.name])
        cases.append(Case(f"{t.name}: padded with whitespace", t, f"  \n{valid}\t\n"))
        for name, text in after_the_object(valid):
            cases.append(Case(f"{t.name}: {name}", t, text))
        for name, message in byte_cases(valid):
            cases.append(Case(f"{t.name}: bytes {name}", t, message))
    return cases


# The contract's answers, pinned by hand: case name -> reasons, in order.
EXPECTED: dict[str, list[str]] = {
    "charges: valid": [],
    "charges: id null-like ' NULL '": ["MISSING_CHARGE_ID"],
    "charges: id null-like None": ["MISSING_CHARGE_ID"],
    "charges: id null-like 'n/a\\t'": ["MISSING_CHARGE_ID"],
    "charges: reference missing": ["MISSING_CUSTOMER_ID"],
    "refunds: reference missing": ["MISSING_CHARGE_ID"],
    "charges: reference 'NA' is a value": [],
    "charges: currency ' usd '": [],
    "charges: currency 'XXX'": ["INVALID_CURRENCY"],
    "charges: currency 'XAU'": ["INVALID_CURRENCY"],
    "charges: currency 'HRK'": ["INVALID_CURRENCY"],
    "charges: currency ''": ["MISSING_CURRENCY"],
    "charges: amount 'abc'": ["INVALID_AMOUNT"],
    "charges: amount '0'": ["INVALID_AMOUNT_NEGATIVE"],
    "subscriptions: valid": [],
    "subscriptions: negative subscription": ["INVALID_AMOUNT_NEGATIVE"],
    "charges: amount '1000000.01'": ["INVALID_AMOUNT_TOO_LARGE"],
    "charges: amount '1000000'": [],
    "charges: amount 'null'": ["MISSING_AMOUNT"],
    "charges: amount '12.345'": ["INVALID_AMOUNT_PRECISION"],
    "charges: amount '12.3400'": [],
    "charges: JPY 10.50 too precise": ["INVALID_AMOUNT_PRECISION"],
    "charges: JPY 100.00 fine": [],
    "charges: BHD 1.234": [],
    "charges: negative, too precise": ["INVALID_AMOUNT_NEGATIVE", "INVALID_AMOUNT_PRECISION"],
    "charges: invalid currency skips precision": ["INVALID_CURRENCY"],
    "charges: too large and too precise": ["INVALID_AMOUNT_TOO_LARGE", "INVALID_AMOUNT_PRECISION"],
    "charges: created_at 'yesterday'": ["INVALID_TIMESTAMP"],
    "charges: created_at '2026-02-30 10:00:00'": ["INVALID_TIMESTAMP"],
    "charges: created_at '2024-02-29 10:00:00'": [],
    "charges: created_at 'null'": ["MISSING_CREATED_AT"],
    "charges: status 'FAILED'": [],
    "charges: status 'refunded?'": ["INVALID_STATUS"],
    "charges: status 'N/A'": ["MISSING_STATUS"],
    "charges: every check fails": [
        "MISSING_CHARGE_ID",
        "MISSING_CUSTOMER_ID",
        "INVALID_CURRENCY",
        "INVALID_AMOUNT_NEGATIVE",
        "INVALID_TIMESTAMP",
        "INVALID_STATUS",
    ],
    "refunds: every check fails": [
        "MISSING_REFUND_ID",
        "MISSING_CHARGE_ID",
        "INVALID_CURRENCY",
        "INVALID_AMOUNT_NEGATIVE",
        "INVALID_TIMESTAMP",
        "INVALID_STATUS",
    ],
    "charges: malformed not json": ["MALFORMED_JSON"],
    "charges: malformed array": ["MALFORMED_JSON"],
    "charges: malformed tombstone": ["MALFORMED_JSON"],
    "charges: malformed NaN literal": ["MALFORMED_JSON"],
    "charges: padded with whitespace": [],
    "charges: unknown extra fields": [],
    # Text after the object is not one JSON object.
    "charges: two objects": ["MALFORMED_JSON"],
    "charges: two JSON lines": ["MALFORMED_JSON"],
    "charges: garbage ending in a brace": ["MALFORMED_JSON"],
    "charges: a closing bracket": ["MALFORMED_JSON"],
    "charges: a closing brace": ["MALFORMED_JSON"],
    "charges: a comma and a value": ["MALFORMED_JSON"],
    "refunds: a comma and a member": ["MALFORMED_JSON"],
    "disputes: a comment": ["MALFORMED_JSON"],
    "subscriptions: a NUL": ["MALFORMED_JSON"],
    # A container where a scalar is expected is present, not missing.
    "charges: amount {'v': 1}": ["INVALID_AMOUNT"],
    "charges: amount [1]": ["INVALID_AMOUNT"],
    "charges: currency is an object": ["INVALID_CURRENCY"],
    "refunds: currency is an array": ["INVALID_CURRENCY"],
    "charges: created_at is an object": ["INVALID_TIMESTAMP"],
    "disputes: created_at is an array": ["INVALID_TIMESTAMP"],
    "charges: status is an array": ["INVALID_STATUS"],
    "subscriptions: status is an object": ["INVALID_STATUS"],
    "charges: id is an object": [],
    "refunds: reference is an array": [],
    "charges: reference is an empty object": [],
    "charges: optional text is a container": [],
    # Jackson's limits, applied by both renderings.
    "charges: nested 999 deep is JSON": [],
    "charges: nested 1000 deep is too deep": ["MALFORMED_JSON"],
    "charges: 1000-digit number is JSON": [],
    "charges: 1001-digit number is not": ["MALFORMED_JSON"],
    "charges: 1000 digits with fraction and exponent": [],
    "charges: 1001 digits with fraction and exponent": ["MALFORMED_JSON"],
    "charges: member name of 50000": [],
    "charges: member name of 50001": ["MALFORMED_JSON"],
    # Huge exponents and long numbers.
    "charges: amount '1e99999999'": ["INVALID_AMOUNT"],
    "charges: amount '1E-99999999'": ["INVALID_AMOUNT"],
    "charges: amount '-1e600000000'": ["INVALID_AMOUNT"],
    "charges: amount '1e-600000000'": ["INVALID_AMOUNT"],
    "charges: amount '1e999999999'": ["INVALID_AMOUNT"],
    "refunds: amount '1E999999999'": ["INVALID_AMOUNT"],
    "charges: amount '-1e999999999'": ["INVALID_AMOUNT"],
    "charges: amount '1e-999999999'": ["INVALID_AMOUNT"],
    "charges: amount '1E+999'": ["INVALID_AMOUNT_TOO_LARGE"],
    "charges: amount '1e-999'": ["INVALID_AMOUNT_PRECISION"],
    "charges: amount '1e1000'": ["INVALID_AMOUNT"],
    "charges: amount '0e-999'": ["INVALID_AMOUNT_NEGATIVE"],
    "subscriptions: amount '0e-999'": [],
    "charges: amount '9999999999999999999999999999999999999999'": ["INVALID_AMOUNT_TOO_LARGE"],
    "charges: amount '10000000000000000000000000000000000000000'": ["INVALID_AMOUNT"],
    "charges: amount '1.0000000000000000000000000000000000000000'": [],
    "charges: amount '1.00000000000000000000000000000000000000000'": ["INVALID_AMOUNT"],
    "charges: amount '5\\u2028'": ["INVALID_AMOUNT"],
    # Precision and sign judged on the number as written.
    "charges: amount '12.5000000000000000001'": ["INVALID_AMOUNT_PRECISION"],
    "refunds: amount '12.50000000000000000010'": ["INVALID_AMOUNT_PRECISION"],
    "charges: amount '1e-19'": ["INVALID_AMOUNT_PRECISION"],
    "charges: amount '1000000.0000000000000000001'": [
        "INVALID_AMOUNT_TOO_LARGE",
        "INVALID_AMOUNT_PRECISION",
    ],
    "charges: amount '999999.99999999999999999999'": ["INVALID_AMOUNT_PRECISION"],
    "charges: amount '100e-2'": [],
    "charges: amount '1.2345e2'": [],
    "charges: JPY 1.5e1 is whole": [],
    "charges: BHD 12345e-4 too precise": ["INVALID_AMOUNT_PRECISION"],
    "charges: JPY 1e-30 too precise": ["INVALID_AMOUNT_PRECISION"],
    # Bytes that are not UTF-8 are not JSON.
    "charges: bytes not UTF-8 at all": ["MALFORMED_JSON"],
    "charges: bytes invalid UTF-8 inside a string": ["MALFORMED_JSON"],
    "refunds: bytes overlong encoding": ["MALFORMED_JSON"],
    "disputes: bytes encoded surrogate": ["MALFORMED_JSON"],
    "subscriptions: bytes beyond U+10FFFF": ["MALFORMED_JSON"],
    "charges: bytes truncated sequence at the end": ["MALFORMED_JSON"],
    "charges: bytes UTF-8 that starts like the base64 marker": ["MALFORMED_JSON"],
    "charges: bytes byte order mark": ["MALFORMED_JSON"],
    "charges: bytes valid multi-byte UTF-8": [],
}
