"""The enrichment sink's SQL on a Flink mini cluster: valid results, copies of them and
every kind of bad message, asserted row by row; the whole job is planned as well.

The messages stand in for the Kafka table; everything after it (the checks, the dedupe,
the inserts' SELECTs) is the job's own rendered SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contracts.reasons import ENRICHMENT_REASONS, Reason
from contracts.tables import (
    ENRICHMENT_COLUMNS,
    ENRICHMENT_QUARANTINE_COLUMNS,
    ENRICHMENT_QUARANTINE_TABLE,
    ENRICHMENT_TABLE,
)
from flink_jobs.ddl import FLINK_TYPES
from flink_jobs.enrichment_checks import RESULT_FIELDS, field_reasons, reason_conditions
from flink_jobs.enrichment_job import SOURCE_TABLE, render_enrichment_job
from flink_jobs.job import JobSettings
from tests.flink_venv import run_harness

HARNESS = Path(__file__).with_name("enrichment_harness.py")
EVENT_ID = "0123456789abcdef0123456789abcdef"
KAFKA_TIMESTAMP_MS = 1_795_600_900_000


def result(**changes: Any) -> dict[str, Any]:
    """A valid result as the enrichment workflow publishes it; `changes` (None deletes)."""
    values: dict[str, Any] = {
        "event_id": EVENT_ID,
        "fraud_score": 0.0421,
        "risk_level": "low",
        "churn_score": 0.13,
        "retry_strategy": None,
        "model_version": "logreg-2026-11-20",
        "score_source": "model",
        "workflow_id": "enrich-payments.normalized-0-100-199",
        "enriched_at": "2026-11-22T10:00:00.123Z",
    }
    for name, value in changes.items():
        if value is DELETE:
            del values[name]
        else:
            values[name] = value
    return values


DELETE = object()


@dataclass
class Case:
    name: str
    payload: str | None
    reasons: tuple[str, ...] = ()  # none: a valid result


def as_json(**changes: Any) -> str:
    return json.dumps(result(**changes))


def event_id(n: int) -> str:
    return f"{n:032x}"


CASES = [
    Case("valid", as_json()),
    Case(
        "valid_failed_payment",
        as_json(
            event_id=event_id(2),
            retry_strategy='{"delay_seconds": 3600, "method": "same_payment_method",'
            ' "should_retry": true}',
            score_source="fallback",
            model_version="fallback",
            fraud_score=0.5,
            risk_level="medium",
            churn_score=1,
        ),
    ),
    Case("copy_of_valid", as_json(workflow_id="enrich-retried")),
    Case("not_json", '{"event_id": "' + EVENT_ID, ("MALFORMED_JSON",)),
    Case("json_array", "[" + as_json(event_id=event_id(3)) + "]", ("MALFORMED_JSON",)),
    Case("json_string", '"hello"', ("MALFORMED_JSON",)),
    Case("empty", "", ("MALFORMED_JSON",)),
    Case("tombstone", None, ("MALFORMED_JSON",)),
    Case("missing_event_id", as_json(event_id=DELETE), ("MISSING_EVENT_ID",)),
    Case("null_event_id", as_json(event_id=None), ("MISSING_EVENT_ID",)),
    Case("number_event_id", as_json(event_id=12345), ("INVALID_EVENT_ID",)),
    Case("bad_event_id", as_json(event_id="evt_123"), ("INVALID_EVENT_ID",)),
    Case(
        "fraud_score_too_high",
        as_json(event_id=event_id(4), fraud_score=1.5),
        ("INVALID_FRAUD_SCORE",),
    ),
    Case(
        "fraud_score_as_text",
        as_json(event_id=event_id(5), fraud_score="0.5"),
        ("INVALID_FRAUD_SCORE",),
    ),
    Case(
        "missing_fraud_score",
        as_json(event_id=event_id(6), fraud_score=DELETE),
        ("MISSING_FRAUD_SCORE",),
    ),
    Case(
        "negative_churn_score",
        as_json(event_id=event_id(7), churn_score=-0.01),
        ("INVALID_CHURN_SCORE",),
    ),
    Case(
        "unknown_risk_level",
        as_json(event_id=event_id(8), risk_level="extreme"),
        ("INVALID_RISK_LEVEL",),
    ),
    Case(
        "retry_strategy_not_json",
        as_json(event_id=event_id(9), retry_strategy="retry later"),
        ("INVALID_RETRY_STRATEGY",),
    ),
    Case(
        "retry_strategy_as_object",
        as_json(event_id=event_id(10), retry_strategy={"should_retry": True}),
        ("INVALID_RETRY_STRATEGY",),
    ),
    Case(
        "blank_model_version",
        as_json(event_id=event_id(11), model_version=" "),
        ("INVALID_MODEL_VERSION",),
    ),
    Case(
        "unknown_score_source",
        as_json(event_id=event_id(12), score_source="guess"),
        ("INVALID_SCORE_SOURCE",),
    ),
    Case(
        "workflow_id_as_number",
        as_json(event_id=event_id(13), workflow_id=7),
        ("INVALID_WORKFLOW_ID",),
    ),
    Case(
        "unparseable_enriched_at",
        as_json(event_id=event_id(14), enriched_at="yesterday"),
        ("INVALID_ENRICHED_AT",),
    ),
    Case(
        "empty_object",
        "{}",
        (
            "MISSING_EVENT_ID",
            "MISSING_FRAUD_SCORE",
            "MISSING_RISK_LEVEL",
            "MISSING_CHURN_SCORE",
            "MISSING_MODEL_VERSION",
            "MISSING_SCORE_SOURCE",
            "MISSING_WORKFLOW_ID",
            "MISSING_ENRICHED_AT",
        ),
    ),
    Case(
        "several_wrong",
        as_json(event_id=event_id(15), churn_score=2, score_source=None),
        ("INVALID_CHURN_SCORE", "MISSING_SCORE_SOURCE"),
    ),
]


@dataclass
class Results:
    enrichments: list[dict[str, Any]]
    quarantine: dict[int, dict[str, Any]]  # by Kafka offset, the case's index
    plan: str


def flink_columns(columns: list[tuple[str, str]]) -> list[list[str]]:
    return [[name, FLINK_TYPES[kind]] for name, kind in columns]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Results:
    folder = tmp_path_factory.mktemp("enrichment")
    messages = folder / "messages.jsonl"
    messages.write_text(
        "\n".join(
            json.dumps(
                {
                    "payload": case.payload,
                    "kafka_partition": 0,
                    "kafka_offset": offset,
                    "kafka_timestamp_ms": KAFKA_TIMESTAMP_MS + offset,
                }
            )
            for offset, case in enumerate(CASES)
        )
        + "\n"
    )
    job = {
        "script": render_enrichment_job(JobSettings(), namespace="ns"),
        "messages": str(messages),
        "source": SOURCE_TABLE,
        "catalog": "lakehouse",
        "namespace": "ns",
        "tables": {
            ENRICHMENT_TABLE: flink_columns(ENRICHMENT_COLUMNS),
            ENRICHMENT_QUARANTINE_TABLE: flink_columns(ENRICHMENT_QUARANTINE_COLUMNS),
        },
    }
    out = run_harness(HARNESS, job, folder)
    quarantine = {int(row["kafka_offset"]): row for row in out[ENRICHMENT_QUARANTINE_TABLE]}
    assert len(quarantine) == len(out[ENRICHMENT_QUARANTINE_TABLE]), "two rows for one message"
    return Results(out[ENRICHMENT_TABLE], quarantine, out["plan"])


def test_valid_results_land_once_per_event_with_their_values(results: Results):
    by_event = {row["event_id"]: row for row in results.enrichments}
    assert len(by_event) == len(results.enrichments) == 2
    first = by_event[EVENT_ID]
    # The first copy is kept, the retried publish's copy dropped.
    assert first["workflow_id"] == "enrich-payments.normalized-0-100-199"
    assert (float(first["fraud_score"]), first["risk_level"], float(first["churn_score"])) == (
        0.0421,
        "low",
        0.13,
    )
    assert first["retry_strategy"] is None
    assert first["enriched_at"].startswith("2026-11-22 10:00:00.123")
    failed = by_event[event_id(2)]
    assert json.loads(failed["retry_strategy"]) == {
        "delay_seconds": 3600,
        "method": "same_payment_method",
        "should_retry": True,
    }
    assert (failed["score_source"], float(failed["churn_score"])) == ("fallback", 1.0)


@pytest.mark.parametrize("offset", [i for i, c in enumerate(CASES) if c.reasons])
def test_bad_message_is_quarantined_with_its_reasons(offset: int, results: Results):
    case = CASES[offset]
    row = results.quarantine[offset]
    assert row["rejection_reason"] == case.reasons[0], case.name
    assert row["rejection_reasons"] == "[" + ", ".join(case.reasons) + "]", case.name
    assert row["raw_payload"] == case.payload, case.name
    assert (row["kafka_topic"], row["kafka_partition"]) == ("enriched", "0")
    assert row["quarantine_timestamp"] is not None


def test_every_message_lands_in_exactly_one_place(results: Results):
    valid = [i for i, c in enumerate(CASES) if not c.reasons]
    assert set(results.quarantine) == {i for i, c in enumerate(CASES) if c.reasons}
    # Valid messages: one row per event id, copies dropped (keep-first).
    assert len(results.enrichments) == len({json.loads(CASES[i].payload or "")["event_id"]
                                             for i in valid})  # fmt: skip


def test_the_event_id_is_kept_in_quarantine_when_it_is_a_string(results: Results):
    by_name = {c.name: i for i, c in enumerate(CASES)}
    assert results.quarantine[by_name["bad_event_id"]]["event_id"] == "evt_123"
    assert results.quarantine[by_name["fraud_score_too_high"]]["event_id"] == event_id(4)
    assert results.quarantine[by_name["number_event_id"]]["event_id"] is None


def test_every_reason_is_exercised():
    assert {r for c in CASES for r in c.reasons} == set(ENRICHMENT_REASONS)


def test_the_whole_job_is_planned_with_its_kafka_source_and_both_tables(results: Results):
    plan = results.plan
    assert "Deduplicate(keep=[FirstRow]" in plan
    assert f"default_catalog, default_database, {SOURCE_TABLE}" in plan
    assert f"lakehouse.ns.{ENRICHMENT_TABLE}" in plan
    assert f"lakehouse.ns.{ENRICHMENT_QUARANTINE_TABLE}" in plan


def test_the_checks_cover_the_table_and_list_reasons_in_order():
    assert [f.name for f in RESULT_FIELDS] == [name for name, _ in ENRICHMENT_COLUMNS]
    assert [reason for reason, _ in reason_conditions()] == list(ENRICHMENT_REASONS)
    assert (Reason.MALFORMED_JSON, *field_reasons()) == ENRICHMENT_REASONS
