"""JSON_MEMBERS (flink_jobs/udf) against Flink's own JSON functions, on a mini cluster.

For every tricky message and path: `members[i]` is exactly
`COALESCE(JSON_VALUE(payload, path), JSON_QUERY(payload, path))`, `scalars[i]` tells the two
apart exactly, and `is_object` is exactly the validation rules' three IS JSON checks
(`validation.flink_sql.is_object_expression`).
"""

from __future__ import annotations

import json

import pytest

from contracts.events import CHARGES
from contracts.paths import udf_jar
from flink_jobs.ddl import function_statements, json_members, literal
from tests.validation.flink_run import message_file_table, run_sql
from tests.validation.hostile import hostile_payloads
from validation.flink_sql import is_object_expression

PATHS = (
    "$.a",
    "$.b.c",
    "$.b",
    "$.list[0]",
    "$.list[5]",
    "$.list",
    "$.n",
    "$.missing",
    "$['odd key']",
    "lax $.a",
    "$.amount",
    "$.customer_id",
    "$.pad",
)
DEPTH_LIMIT = 1000  # Jackson's default StreamReadConstraints max nesting depth

TRICKY: list[bytes | None] = [
    b'{"a": 1.10, "b": {"c": [1, {"x": null}]}, "list": [true, "s", 2e3]}',
    b'{"a": 1e400, "n": -0.0, "b": {"c": 12345678901234567890123456789}}',
    b'{"a": 9223372036854775808, "n": 1E-7, "list": [1.5e300, -1]}',
    b'{"a": null, "b": null, "list": [], "n": {}}',
    b'{"a": "\\u00e9\\n\\"q\\"", "b": {"c": "  padded  "}}',
    b'{"a": 1} trailing',
    b'{"a": 1} ]',
    b'{"a": 1} }',
    b'{"a": 1}, {"b": 2}',
    b'{"a": 1}\n\t\r ',
    b'\n {"a": 1}',
    b'\xef\xbb\xbf{"a": 1}',  # a byte-order mark
    b'{"a": 1, "a": 2}',
    b'{"a": true, "odd key": false}',
    b'{"a": [1, 2], "b": {"c": {"d": [{}]}}}',
    b"[1, 2]",
    b'"string"',
    b"12",
    b"not json",
    b"{",
    b"",
    None,
    b'{"a": ' * (DEPTH_LIMIT - 1) + b"1" + b"}" * (DEPTH_LIMIT - 1),
    b'{"a": ' * DEPTH_LIMIT + b"1" + b"}" * DEPTH_LIMIT,
    b'{"a": ' * (DEPTH_LIMIT + 1) + b"1" + b"}" * (DEPTH_LIMIT + 1),
    json.dumps({f"k{i}": i for i in range(10_000)} | {"a": "many"}).encode(),
    *hostile_payloads(CHARGES),
]


def reference(paths: tuple[str, ...]) -> list[str]:
    """Flink's own answers, one expression per path (what the jobs rendered before)."""
    columns = [f"CAST({is_object_expression()} AS STRING)"]
    for path in paths:
        p = literal(path)
        columns += [
            f"COALESCE(JSON_VALUE(payload, {p}), JSON_QUERY(payload, {p}))",
            f"JSON_VALUE(payload, {p})",
            f"JSON_QUERY(payload, {p})",
        ]
    return columns


def parsed_once(paths: tuple[str, ...]) -> list[str]:
    """The same answers from JSON_MEMBERS' one parse, as the views read them."""
    columns = ["CAST(json.is_object AS STRING)"]
    for i in range(1, len(paths) + 1):
        member, scalar = f"json.members[{i}]", f"json.scalars[{i}]"
        columns += [
            member,
            f"CASE WHEN {scalar} THEN {member} END",
            f"CASE WHEN NOT {scalar} THEN {member} END",
        ]
    return columns


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> dict[str, list[list[str | None]]]:
    if not udf_jar().is_file():
        pytest.fail(f"{udf_jar()} is missing: `make setup` builds it (flink_jobs/udf)")
    folder = tmp_path_factory.mktemp("json_members")
    statements = [
        *function_statements(),
        message_file_table("messages", TRICKY, folder),
        f"CREATE TEMPORARY VIEW parsed AS SELECT kafka_offset, payload,"
        f" {json_members(PATHS)} AS json FROM messages",
    ]
    queries = {
        "flink": f"SELECT kafka_offset, {', '.join(reference(PATHS))} FROM messages",
        "members": f"SELECT kafka_offset, {', '.join(parsed_once(PATHS))} FROM parsed",
    }
    rows, _ = run_sql(statements, queries, folder, timeout=600)
    return rows


def by_offset(rows: list[list[str | None]]) -> dict[int, list[str | None]]:
    return {int(row[0] or -1): row[1:] for row in rows}


def test_every_message_is_answered(answers):
    assert sorted(by_offset(answers["members"])) == list(range(len(TRICKY)))


@pytest.mark.parametrize("offset", range(len(TRICKY)))
def test_json_members_equals_json_value_and_json_query(answers, offset):
    flink, members = by_offset(answers["flink"]), by_offset(answers["members"])
    labels = ["is_object"] + [f"{kind} {p}" for p in PATHS for kind in ("text", "value", "query")]
    assert dict(zip(labels, members[offset], strict=True)) == dict(
        zip(labels, flink[offset], strict=True)
    )


def test_the_cases_exercise_both_answers(answers):
    """Objects and non-objects, scalars and containers, present and missing."""
    rows = list(by_offset(answers["flink"]).values())
    assert {r[0] for r in rows} == {"TRUE", "FALSE"}
    values = [v for r in rows for v in r[2::3]]
    queries = [v for r in rows for v in r[3::3]]
    assert any(v is not None for v in values) and any(v is not None for v in queries)
    assert any(v is None for v in values)
