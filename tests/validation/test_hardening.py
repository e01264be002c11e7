"""Messages whose cost grows with their size: the SQL answers them quickly, as Python does.

One hostile message must never stall the job: before the rules were bounded, casting
`1e99999999` to DECIMAL scaled it digit by digit (over a minute per message here, more
for larger exponents, until memory runs out), and trimming a field with a long run of
spaces in the middle by regular expression was quadratic (over a minute per 80,000
spaces). Both renderings must give the contract's answer within a time bound.
"""

from __future__ import annotations

import json

import pytest

from contracts.events import CHARGES
from flink_jobs.ddl import function_statements
from tests.validation.cases import BASE, render
from tests.validation.flink_run import message_file_table, run_sql
from validation.flink_sql import render_views
from validation.python_rules import message_bytes, stored_payload, validate
from validation.rules import RAW_PAYLOAD_BASE64_PREFIX

# A mini cluster job over a handful of rows takes well under a minute here; a stall is
# hours. The bound leaves room for a loaded two-core machine.
TIME_BOUND_SECONDS = 300


def charge(**fields: object) -> bytes:
    return render(BASE["charges"] | fields).encode()


def raw_charge_text(amount_json: str) -> bytes:
    """A charge whose amount is the JSON text given (a number written as is)."""
    document = json.loads(render(BASE["charges"]))
    document["amount"] = "@@amount@@"
    return json.dumps(document).replace('"@@amount@@"', amount_json).encode()


EXPENSIVE = [
    ("exponent as a JSON number", raw_charge_text("1e99999999")),
    ("exponent as text", charge(amount="1e-99999999")),
    ("negative exponent", raw_charge_text("-7e-99999999")),
    ("exponent past the memory", charge(amount="1e600000000")),
    ("exponent on an optional number", charge(risk_score="1e-99999999")),
    ("900,000 digits", charge(amount="1" * 900_000)),
    ("spaces inside a text field", charge(customer_id="a" + " " * 300_000 + "b")),
    ("spaces around an amount", charge(amount=" " * 300_000 + "5" + " " * 300_000)),
]


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> tuple[dict[int, list[str | None]], float]:
    folder = tmp_path_factory.mktemp("hardening")
    statements = [
        *function_statements(),
        message_file_table("raw_file", [m for _, m in EXPENSIVE], folder),
        "CREATE TEMPORARY VIEW raw_charges AS SELECT payload, 'payment_charges' AS kafka_topic,"
        " 0 AS kafka_partition, kafka_offset, TO_TIMESTAMP_LTZ(0, 3) AS kafka_timestamp"
        " FROM raw_file",
        *(s for s in render_views(CHARGES, "raw_charges").split(";\n") if s.strip()),
    ]
    query = (
        "SELECT CAST(kafka_offset AS STRING), reasons_csv, customer_id,"
        " CAST(CAST(amount_value AS DECIMAL(18, 4)) AS STRING) FROM charges_checked"
    )
    rows, elapsed = run_sql(
        statements, {"charges": query}, folder, timeout=TIME_BOUND_SECONDS + 120
    )
    return {int(row[0] or -1): row[1:] for row in rows["charges"]}, elapsed


def test_expensive_messages_are_answered_within_the_time_bound(answers):
    by_offset, elapsed = answers
    assert sorted(by_offset) == list(range(len(EXPENSIVE)))
    assert elapsed < TIME_BOUND_SECONDS


@pytest.mark.parametrize("index", range(len(EXPENSIVE)), ids=[n for n, _ in EXPENSIVE])
def test_expensive_message_gets_the_python_answer(index: int, answers):
    reasons_csv, customer_id, amount = answers[0][index]
    python = validate(CHARGES, EXPENSIVE[index][1])
    assert (reasons_csv.split(",") if reasons_csv else []) == [r.value for r in python.reasons]
    if python.valid:
        assert customer_id == python.values["customer_id"]
        assert amount == str(python.values["amount"])


def test_huge_exponents_and_long_numbers_are_not_amounts():
    for _, message in EXPENSIVE[:4] + EXPENSIVE[5:6]:
        assert [r.value for r in validate(CHARGES, message).reasons] == ["INVALID_AMOUNT"]


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b'{"a": 1}',
        "caf\u00e9 \u2615".encode(),
        b"\x00\x01",
        b"\xff\xfe\xfd",
        b'{"a": "\xc3\x28"}',
        b"\xed\xa0\x80",
        RAW_PAYLOAD_BASE64_PREFIX.encode() + b"looks stored",
    ],
)
def test_the_stored_payload_gives_back_exactly_the_bytes_read(message: bytes):
    stored = stored_payload(message)
    assert stored is not None and message_bytes(stored) == message
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not text.startswith(RAW_PAYLOAD_BASE64_PREFIX):
        assert stored == text  # readable messages stay readable
    else:
        assert stored.startswith(RAW_PAYLOAD_BASE64_PREFIX)
