"""The shared case table: every rule, null variant, timestamp form and malformed message.

Both the Python rules and the Flink SQL rendering run these cases; `EXPECTED` pins the
contract's answer for the cases where a person would check it by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from validation.rules import EVENT_TYPES, EventType


class Raw(str):
    """A JSON number written exactly as given (12.50 stays 12.50)."""


MISSING = object()


@dataclass(frozen=True)
class Case:
    name: str
    event_type: EventType
    payload: str | None


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
    return cases


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


def all_cases() -> list[Case]:
    cases = []
    for t in EVENT_TYPES:
        for name, overrides in mutations(t) + optional_field_cases(t):
            cases.append(Case(f"{t.name}: {name}", t, render(BASE[t.name] | overrides)))
        for name, payload in MALFORMED:
            cases.append(Case(f"{t.name}: malformed {name}", t, payload))
        valid = render(BASE[t.name])
        cases.append(Case(f"{t.name}: padded with whitespace", t, f"  \n{valid}\t\n"))
        cases.append(Case(f"{t.name}: text after the object", t, valid + " trailing"))
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
}
