"""What a valid `payments.enriched` message is (contract §6), as data, rendered as Flink SQL.

The enrichment sink reads the topic as raw text, so a message that is not a valid result
(not JSON, not an object, a field missing, of the wrong JSON type or out of range) goes to
`quarantine_payment_enrichments` with its reasons instead of failing the job: with the
json format such a message failed every restart of the job, forever.

`render_views` creates `enriched_extracted` (each field's JSON type and text),
`enriched_parsed` (the pieces of the timestamp), `enriched_typed` (each field typed, NULL
unless it has the right JSON type) and `enriched_checked` (`reasons_csv`: the failed checks
in `contracts.reasons.ENRICHMENT_REASONS` order, '' when none).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts.events import Field, Kind
from contracts.reasons import Reason
from normalization.flink_sql import timestamp_pieces
from validation.flink_sql import fence, in_list, literal, timestamp_expression, view
from workflows.scoring import FALLBACK, MODEL, RISK_LEVELS

RAW_COLUMNS = ("payload", "kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp")
# payments.event_id: the first 32 hex digits of a SHA-256 (normalization.flink_sql).
EVENT_ID_PATTERN = "^[0-9a-f]{32}$"


class Check(StrEnum):
    ID = "id"  # a JSON string, a payments.event_id
    SCORE = "score"  # a JSON number in 0..1
    CHOICE = "choice"  # a JSON string, one of `choices`
    TEXT = "text"  # a JSON string, not blank
    JSON_OBJECT = "json_object"  # a JSON string holding a JSON object
    TIMESTAMP = "timestamp"  # in one of the contract's timestamp forms (§4)


@dataclass(frozen=True)
class ResultField:
    name: str
    check: Check
    required: bool = True
    choices: tuple[str, ...] = ()

    @property
    def missing_reason(self) -> Reason:
        return Reason(f"MISSING_{self.name.upper()}")

    @property
    def invalid_reason(self) -> Reason:
        return Reason(f"INVALID_{self.name.upper()}")


# The columns of `payment_enrichments` (contracts.tables.ENRICHMENT_COLUMNS), in order.
RESULT_FIELDS = (
    ResultField("event_id", Check.ID),
    ResultField("fraud_score", Check.SCORE),
    ResultField("risk_level", Check.CHOICE, choices=RISK_LEVELS),
    ResultField("churn_score", Check.SCORE),
    # NULL unless the payment failed.
    ResultField("retry_strategy", Check.JSON_OBJECT, required=False),
    ResultField("model_version", Check.TEXT),
    ResultField("score_source", Check.CHOICE, choices=(MODEL, FALLBACK)),
    ResultField("workflow_id", Check.TEXT),
    ResultField("enriched_at", Check.TIMESTAMP),
)


def field_reasons() -> tuple[Reason, ...]:
    """The reasons the checks of RESULT_FIELDS give, in field order: with MALFORMED_JSON
    first, contracts.reasons.ENRICHMENT_REASONS (a unit test holds them equal)."""
    return tuple(
        reason
        for f in RESULT_FIELDS
        for reason in ((f.missing_reason,) if f.required else ()) + (f.invalid_reason,)
    )


def is_object_expression() -> str:
    return (
        "COALESCE(payload IS JSON OBJECT"
        " AND REGEXP(payload, '^[ \\t\\n\\r]*\\{')"
        " AND REGEXP(payload, '\\}[ \\t\\n\\r]*$'), FALSE)"
    )


def extracted_view(source: str) -> str:
    """Each field's value always wrapped in an array (`["text"]`, `[0.5]`, `[null]`,
    `[{...}]`), which tells its JSON type, and its text (NULL for null, objects, arrays)."""
    select = [*RAW_COLUMNS, "proc_time", f"{is_object_expression()} AS is_object"]
    for f in RESULT_FIELDS:
        path = literal(f"$.{f.name}")
        select.append(
            f"{fence(f'JSON_QUERY(payload, {path} WITH UNCONDITIONAL ARRAY WRAPPER)')}"
            f" AS {f.name}_json"
        )
        select.append(f"{fence(f'JSON_VALUE(payload, {path})')} AS {f.name}_text")
    return view("enriched_extracted", select, source)


def present(f: ResultField) -> str:
    """The message has the member, and it is not JSON null."""
    return f"COALESCE({f.name}_json NOT IN ('[]', '[null]'), FALSE)"


def typed_value(f: ResultField) -> str:
    """The field as its column's type; NULL when the JSON value is not of the right type."""
    if f.check is Check.SCORE:
        return (
            f"CASE WHEN REGEXP({f.name}_json, '^\\[-?[0-9]')"
            f" THEN TRY_CAST({f.name}_text AS DOUBLE) END"
        )
    if f.check is Check.TIMESTAMP:
        # The contract's timestamp forms, as everywhere (validation.flink_sql).
        return timestamp_expression(Field(f.name, Kind.TIMESTAMP))
    return f"CASE WHEN REGEXP({f.name}_json, '^\\[\"') THEN {f.name}_text END"


def valid_condition(f: ResultField) -> str:
    """When a present value of `f` is acceptable (its typed value is NULL otherwise)."""
    if f.check is Check.ID:
        return f"REGEXP({f.name}, {literal(EVENT_ID_PATTERN)})"
    if f.check is Check.SCORE:
        return f"{f.name} BETWEEN 0 AND 1"
    if f.check is Check.CHOICE:
        return f"{f.name} IN {in_list(f.choices)}"
    if f.check is Check.TEXT:
        return f"TRIM({f.name}) <> ''"
    if f.check is Check.JSON_OBJECT:
        return f"{f.name} IS JSON OBJECT"
    return f"{f.name} IS NOT NULL"


def parsed_view() -> str:
    return view("enriched_parsed", ["*", *timestamp_pieces("enriched_at")], "enriched_extracted")


def typed_view() -> str:
    select = [*RAW_COLUMNS, "proc_time", "is_object"]
    for f in RESULT_FIELDS:
        select.append(f"{fence(present(f))} AS {f.name}_present")
        select.append(f"{fence(typed_value(f))} AS {f.name}")
    return view("enriched_typed", select, "enriched_parsed")


def reason_conditions() -> list[tuple[Reason, str]]:
    """Each reason with the condition under which it applies, in ENRICHMENT_REASONS order."""
    conditions: list[tuple[Reason, str]] = [(Reason.MALFORMED_JSON, "NOT is_object")]
    for f in RESULT_FIELDS:
        if f.required:
            conditions.append((f.missing_reason, f"is_object AND NOT {f.name}_present"))
        conditions.append(
            (
                f.invalid_reason,
                f"is_object AND {f.name}_present AND NOT COALESCE({valid_condition(f)}, FALSE)",
            )
        )
    return conditions


def checked_view() -> str:
    cases = ",\n    ".join(
        f"CASE WHEN {condition} THEN {literal(reason.value)} END"
        for reason, condition in reason_conditions()
    )
    select = ["*", f"CONCAT_WS(',',\n    {cases}\n  ) AS reasons_csv"]
    return view("enriched_checked", select, "enriched_typed")


def render_views(source: str) -> str:
    """Every view, from the raw messages in `source` to `enriched_checked`."""
    return "\n".join([extracted_view(source), parsed_view(), typed_view(), checked_view()])
