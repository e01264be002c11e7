"""The rules of `validation.rules`, rendered as Flink SQL.

For an event type `t` reading from a table with the raw-message columns (`payload`, the
message's stored form from `raw_payload_column`, `kafka_topic`, `kafka_partition`,
`kafka_offset`, `kafka_timestamp`), `render_views` creates
a chain of temporary views, one concern each, from `t_json` (each message parsed once by
the jobs' JSON_MEMBERS function, flink_jobs/udf) to `t_checked`: every normalised
field, `amount_minor`, and `reasons_csv` (the failed checks in contract order, '' when
none). `render_inserts` writes `t_checked` to the bronze and quarantine tables.
"""

from __future__ import annotations

from collections import defaultdict

from contracts.currencies import MINOR_UNITS
from contracts.events import EventType, Field, Kind
from contracts.reasons import Reason
from contracts.tables import bronze_columns, quarantine_columns
from flink_jobs.ddl import json_members, literal, projection, quarantine_projection, table_ref
from validation.rules import (
    AMOUNT_PARSE_PRECISION,
    AMOUNT_PARSE_SCALE,
    EPOCH_MILLIS_FROM,
    EPOCH_MILLIS_MAX,
    EPOCH_PATTERN,
    MAX_AMOUNT,
    NULL_TOKENS,
    NUMERIC_PATTERN,
    RAW_PAYLOAD_BASE64_PREFIX,
    TIMESTAMP_ISO_PATTERN,
    TIMESTAMP_UTC_PATTERN,
    WHITESPACE,
)

RAW_COLUMNS = ("payload", "kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp")
PARSED_DECIMAL = f"DECIMAL({AMOUNT_PARSE_PRECISION}, {AMOUNT_PARSE_SCALE})"
MAX_OFFSET_HOURS = 18
# MAX_AMOUNT as the amount checks compare it: the power of ten of its first digit, and
# its significant digits.
MAX_AMOUNT_ADJUSTED = MAX_AMOUNT.adjusted()
MAX_AMOUNT_SIGNIFICANT = "".join(map(str, MAX_AMOUNT.as_tuple().digits)).strip("0")


def in_list(values: list[str] | tuple[str, ...]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def trimmed(expression: str) -> str:
    """`expression` without leading and trailing whitespace (`validation.rules.WHITESPACE`).

    TRIM, never a regular expression: `[ ]+$` tries every space of a long run in the
    middle of the text, which is quadratic (80,000 spaces take over a minute).
    """
    characters = " || ".join(f"CHR({ord(c)})" for c in WHITESPACE)
    return f"TRIM(BOTH {characters} FROM {expression})"


def raw_payload_expression(message: str) -> str:
    """The stored form of the message's bytes (`validation.rules.RAW_PAYLOAD_BASE64_PREFIX`).

    The bytes are UTF-8 when decoding and encoding again gives them back (DECODE replaces
    what is not UTF-8).
    """
    text = f"DECODE({message}, 'UTF-8')"
    prefix = literal(RAW_PAYLOAD_BASE64_PREFIX)
    return (
        f"CASE WHEN {message} IS NULL THEN CAST(NULL AS STRING)"
        f" WHEN ENCODE({text}, 'UTF-8') = {message} AND NOT STARTSWITH({text}, {prefix})"
        f" THEN {text} ELSE {prefix} || TO_BASE64({message}) END"
    )


def raw_payload_column(message: str = "message") -> str:
    """A source table's column definitions: the message's bytes and its stored form.

    A table of `raw` format has one physical column, the bytes exactly as Kafka holds
    them; read as STRING, the format would replace what is not UTF-8. `payload` is
    computed from them, once per row (`fence`).
    """
    return f"{message} BYTES,\n  payload AS {fence(raw_payload_expression(message))}"


def is_object_expression(payload: str = "payload") -> str:
    """Is the message one JSON object, with nothing after it but whitespace?

    Jackson ignores what follows the first value (`{...} x` passes IS JSON OBJECT), so the
    message is also checked wrapped: as the only element of an array and as the value of
    a member. Text after the object would have to start with `]` to keep the array valid
    and with `}` to keep the object valid, or with `,` followed by both a value and a
    member name: no text does both, so only whitespace passes.
    """
    in_array = f"('[' || {payload} || ']') IS JSON ARRAY"
    in_object = f"('{{\"k\":' || {payload} || '}}') IS JSON OBJECT"
    return f"COALESCE({payload} IS JSON OBJECT AND {in_array} AND {in_object}, FALSE)"


def member(index: int, parsed: str = "json") -> str:
    """The text of the `index`th path (0-based) of `json_view`'s JSON_MEMBERS call: the
    member's text (`validation.rules`), a scalar's or a container's JSON text, exactly
    `COALESCE(JSON_VALUE(payload, path), JSON_QUERY(payload, path))`."""
    return f"{parsed}.members[{index + 1}]"


def text_column(f: Field) -> str:
    """Columns whose raw text is parsed further keep it under `<name>_text`."""
    return f"{f.name}_text" if f.kind in (Kind.AMOUNT, Kind.TIMESTAMP, Kind.NUMBER) else f.name


def fence(expression: str) -> str:
    """`expression`, computed once per row even when later views use it many times.

    Flink merges a view's projection into the views that read it, inlining each
    expression wherever it is referenced; through a chain of views that multiplies the
    plan's size until planning takes minutes. A non-deterministic expression is never
    inlined twice (FLINK-18548), and `RAND() < 2` is always true, so wrapping an expression
    in it changes nothing but where it is evaluated.
    """
    return f"CASE WHEN RAND() < 2 THEN {expression} END"


def view(name: str, select: list[str], source: str, where: str | None = None) -> str:
    body = ",\n  ".join(select)
    clause = f"\nWHERE {where}" if where else ""
    return f"CREATE TEMPORARY VIEW {name} AS\nSELECT\n  {body}\nFROM {source}{clause};\n"


def json_view(t: EventType, source: str) -> str:
    """Each message parsed once (`JSON_MEMBERS`): whether it is one object, and the text of
    every field (`member`). `payload` stays the raw text, for quarantine."""
    call = json_members([f"$.{f.name}" for f in t.fields])
    return view(f"{t.name}_json", [*RAW_COLUMNS, f"{call} AS json"], source)


def extracted_view(t: EventType) -> str:
    """Is the message a JSON object (`is_object_expression`), and each member's text, trimmed."""
    select = [*RAW_COLUMNS, "json.is_object AS is_object"]
    select += [f"{fence(trimmed(member(i)))} AS {f.name}_trimmed" for i, f in enumerate(t.fields)]
    return view(f"{t.name}_extracted", select, f"{t.name}_json")


def cleaned_view(t: EventType) -> str:
    """Null-like texts become NULL; case is normalised where the field's kind says so."""
    case = {Kind.LOWER: "LOWER({})", Kind.CURRENCY: "UPPER({})"}
    select = [*RAW_COLUMNS, "is_object"]
    for f in t.fields:
        trimmed = f"{f.name}_trimmed"
        value = case.get(f.kind, "{}").format(trimmed)
        cleaned = (
            f"CASE WHEN NOT is_object OR LOWER({trimmed}) IN {in_list(NULL_TOKENS)}"
            f" THEN CAST(NULL AS STRING) ELSE {value} END"
        )
        select.append(f"{fence(cleaned)} AS {text_column(f)}")
    return view(f"{t.name}_cleaned", select, f"{t.name}_extracted")


def minor_units_case(currency: str) -> str:
    by_units: dict[int, list[str]] = defaultdict(list)
    for code, units in sorted(MINOR_UNITS.items()):
        by_units[units].append(code)
    whens = " ".join(
        f"WHEN {currency} IN {in_list(codes)} THEN {units}"
        for units, codes in sorted(by_units.items())
    )
    return f"CASE {whens} END"


def amount_pieces(text: str) -> list[str]:
    """The numeric text's sign, digits (integer and fraction together), decimals written
    and exponent; `amount_is_number` is false for text outside the bounded grammar."""
    numeric = literal(NUMERIC_PATTERN)
    sign, integer, fraction, exponent = (
        f"REGEXP_EXTRACT({text}, {numeric}, {group})" for group in (1, 2, 3, 4)
    )
    pieces = {
        "is_number": f"COALESCE(REGEXP({text}, {numeric}), FALSE)",
        "negative_sign": f"{sign} = '-'",
        "digits": f"{integer} || COALESCE({fraction}, '')",
        "fraction_length": f"CHAR_LENGTH(COALESCE({fraction}, ''))",
        "exponent": f"COALESCE(CAST({exponent} AS INT), 0)",
    }
    return [f"{fence(sql)} AS amount_{name}" for name, sql in pieces.items()]


def amount_facts() -> list[str]:
    """What the amount checks need, exactly, from the text: no rounding anywhere.

    The value is digits x 10^(exponent - fraction_length). `amount_scale` is how many
    decimals it needs (trailing zeros ignored; <= 0 for a whole number) and
    `amount_adjusted` the power of ten of its first significant digit.
    """
    digits = "amount_digits"
    significant = f"TRIM(BOTH '0' FROM {digits})"
    trailing_zeros = f"CHAR_LENGTH({digits}) - CHAR_LENGTH(TRIM(TRAILING '0' FROM {digits}))"
    leading_zeros = f"CHAR_LENGTH({digits}) - CHAR_LENGTH(TRIM(LEADING '0' FROM {digits}))"
    facts = {
        "significant": significant,
        "zero": f"{significant} = ''",
        "scale": f"amount_fraction_length - amount_exponent - ({trailing_zeros})",
        "adjusted": (
            f"CHAR_LENGTH({digits}) - ({leading_zeros}) - 1"
            " - amount_fraction_length + amount_exponent"
        ),
    }
    return [f"{fence(sql)} AS amount_{name}" for name, sql in facts.items()]


def amount_value() -> str:
    """The amount as DECIMAL(38, 18), where that holds it exactly; NULL elsewhere.

    Cast only then: the cast scales the number to 18 decimals, and its cost grows with
    the exponent.
    """
    fits = (
        f"amount_zero OR (amount_adjusted < {AMOUNT_PARSE_PRECISION - AMOUNT_PARSE_SCALE}"
        f" AND amount_scale <= {AMOUNT_PARSE_SCALE})"
    )
    return f"CASE WHEN amount_is_number AND ({fits}) THEN CAST(amount_text AS {PARSED_DECIMAL}) END"


def parsed_view(t: EventType) -> str:
    """Numbers, currencies' minor units, and the pieces of each timestamp form."""
    numeric = literal(NUMERIC_PATTERN)
    select = ["*", f"{fence(minor_units_case('currency'))} AS minor_units"]
    for f in t.fields:
        text = text_column(f)
        if f.kind is Kind.AMOUNT:
            select += amount_pieces(text)
        elif f.kind is Kind.NUMBER:
            select.append(
                f"CASE WHEN REGEXP({text}, {numeric}) THEN TRY_CAST({text} AS DOUBLE) END"
                f" AS {f.name}"
            )
        elif f.kind is Kind.TIMESTAMP:
            utc, iso = literal(TIMESTAMP_UTC_PATTERN), literal(TIMESTAMP_ISO_PATTERN)
            iso_local = (
                f"REGEXP_EXTRACT({text}, {iso}, 1) || ' ' || REGEXP_EXTRACT({text}, {iso}, 2)"
            )
            pieces = {
                "utc_local": f"CASE WHEN REGEXP({text}, {utc})"
                f" THEN TRY_CAST({text} AS TIMESTAMP(6)) END",
                "iso_local": f"CASE WHEN REGEXP({text}, {iso})"
                f" THEN TRY_CAST({iso_local} AS TIMESTAMP(6)) END",
                "iso_offset": f"CASE WHEN REGEXP({text}, {iso})"
                f" THEN REGEXP_EXTRACT({text}, {iso}, 4) END",
                "epoch": f"CASE WHEN REGEXP({text}, {literal(EPOCH_PATTERN)})"
                f" THEN TRY_CAST({text} AS BIGINT) END",
            }
            select += [f"{fence(expr)} AS {f.name}_{piece}" for piece, expr in pieces.items()]
    return view(f"{t.name}_parsed", select, f"{t.name}_cleaned")


def timestamp_expression(f: Field) -> str:
    """The UTC instant of whichever accepted form the text has; NULL for none.

    Each parsed date-time is formatted back and compared with the text, so an impossible
    date (February 30th) is rejected rather than rolled over.
    """
    text, utc, iso, offset, epoch = (
        f"{f.name}_text",
        f"{f.name}_utc_local",
        f"{f.name}_iso_local",
        f"{f.name}_iso_offset",
        f"{f.name}_epoch",
    )
    hours = f"CAST(SUBSTRING({offset} FROM 2 FOR 2) AS INT)"
    minutes = f"CAST(SUBSTRING({offset} FROM 5 FOR 2) AS INT)"
    sign = f"CASE WHEN SUBSTRING({offset} FROM 1 FOR 1) = '-' THEN -1 ELSE 1 END"
    offset_minutes = f"CASE WHEN {offset} = 'Z' THEN 0 ELSE {sign} * ({hours} * 60 + {minutes}) END"
    offset_valid = f"({offset} = 'Z' OR ({hours} <= {MAX_OFFSET_HOURS} AND {minutes} <= 59))"
    as_written = "DATE_FORMAT({}, 'yyyy-MM-dd HH:mm:ss')"
    return (
        "CASE"
        f"\n    WHEN {as_written.format(utc)} = SUBSTRING({text} FROM 1 FOR 19)"
        f"\n      THEN CAST({utc} AS TIMESTAMP_LTZ(6))"
        f"\n    WHEN {as_written.format(iso)} = REPLACE(SUBSTRING({text} FROM 1 FOR 19), 'T', ' ')"
        f" AND {offset_valid}"
        f"\n      THEN CAST(TIMESTAMPADD(MINUTE, -({offset_minutes}), {iso}) AS TIMESTAMP_LTZ(6))"
        f"\n    WHEN {epoch} < {EPOCH_MILLIS_FROM}"
        f"\n      THEN CAST(TO_TIMESTAMP_LTZ({epoch}, 0) AS TIMESTAMP_LTZ(6))"
        f"\n    WHEN {epoch} <= {EPOCH_MILLIS_MAX}"
        f"\n      THEN CAST(TO_TIMESTAMP_LTZ({epoch}, 3) AS TIMESTAMP_LTZ(6))"
        "\n  END"
    )


def per_minor_units(template: str) -> str:
    """`template` (with {scale} and {factor}) for each number of minor units in use."""
    whens = " ".join(
        f"WHEN {units} THEN " + template.format(scale=units, factor=10**units)
        for units in sorted(set(MINOR_UNITS.values()))
    )
    return f"CASE minor_units {whens} END"


def typed_view(t: EventType) -> str:
    select = ["*"]
    select += [
        f"{fence(timestamp_expression(f))} AS {f.name}"
        for f in t.fields
        if f.kind is Kind.TIMESTAMP
    ]
    select += amount_facts()
    return view(f"{t.name}_typed", select, f"{t.name}_parsed")


def amount_view(t: EventType) -> str:
    select = ["*", f"{fence(amount_value())} AS amount_value"]
    return view(f"{t.name}_amounts", select, f"{t.name}_typed")


def reason_conditions(t: EventType) -> list[tuple[Reason, str]]:
    """Each reason with the condition under which it applies, in contract order."""
    positive = "NOT amount_negative_sign AND NOT amount_zero"
    nonpositive = (
        "amount_negative_sign AND NOT amount_zero"
        if t.zero_amount_allowed
        else "(amount_negative_sign OR amount_zero)"
    )
    too_large = (
        f"amount_adjusted > {MAX_AMOUNT_ADJUSTED} OR (amount_adjusted = {MAX_AMOUNT_ADJUSTED}"
        f" AND amount_significant > {literal(MAX_AMOUNT_SIGNIFICANT)})"
    )
    return [
        (Reason.MALFORMED_JSON, "NOT is_object"),
        (t.missing_id_reason, f"is_object AND {t.id_field} IS NULL"),
        (t.missing_reference_reason, f"is_object AND {t.reference_field} IS NULL"),
        (Reason.MISSING_CURRENCY, "is_object AND currency IS NULL"),
        (Reason.INVALID_CURRENCY, "currency IS NOT NULL AND minor_units IS NULL"),
        (Reason.MISSING_AMOUNT, "is_object AND amount_text IS NULL"),
        (Reason.INVALID_AMOUNT, "amount_text IS NOT NULL AND NOT amount_is_number"),
        (Reason.INVALID_AMOUNT_NEGATIVE, f"amount_is_number AND {nonpositive}"),
        (Reason.INVALID_AMOUNT_TOO_LARGE, f"amount_is_number AND {positive} AND ({too_large})"),
        # Needs a valid currency: skipped (NULL minor units) after an invalid one.
        (
            Reason.INVALID_AMOUNT_PRECISION,
            "amount_is_number AND NOT amount_zero AND amount_scale > minor_units",
        ),
        (Reason.MISSING_CREATED_AT, "is_object AND created_at_text IS NULL"),
        (Reason.INVALID_TIMESTAMP, "created_at_text IS NOT NULL AND created_at IS NULL"),
        (Reason.MISSING_STATUS, "is_object AND status IS NULL"),
        (Reason.INVALID_STATUS, f"status NOT IN {in_list(t.statuses)}"),
    ]


def checked_view(t: EventType) -> str:
    cases = ",\n    ".join(
        f"CASE WHEN {condition} THEN {literal(reason.value)} END"
        for reason, condition in reason_conditions(t)
    )
    select = [
        "*",
        per_minor_units("CAST(amount_value * {factor} AS BIGINT)") + " AS amount_minor",
        f"CONCAT_WS(',',\n    {cases}\n  ) AS reasons_csv",
    ]
    return view(f"{t.name}_checked", select, f"{t.name}_amounts")


def render_views(t: EventType, source: str) -> str:
    """Every view of `t`, reading the raw messages from `source`."""
    return "\n".join(
        [
            json_view(t, source),
            extracted_view(t),
            cleaned_view(t),
            parsed_view(t),
            typed_view(t),
            amount_view(t),
            checked_view(t),
        ]
    )


def bronze_select(t: EventType) -> list[str]:
    expressions = {
        "amount": "CAST(amount_value AS DECIMAL(18, 4))",
        "ingested_at": "CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))",
        "kafka_timestamp": "CAST(kafka_timestamp AS TIMESTAMP_LTZ(6))",
    }
    return projection(bronze_columns(t), expressions)


def render_inserts(t: EventType, catalog: str, namespace: str) -> str:
    """Valid rows to bronze, the rest to quarantine: every message lands in exactly one."""
    checked = f"{t.name}_checked"
    bronze = ",\n  ".join(bronze_select(t))
    quarantine = quarantine_projection(quarantine_columns(t))
    return (
        f"INSERT INTO {table_ref(catalog, namespace, t.bronze_table)}\nSELECT\n  {bronze}\n"
        f"FROM {checked}\nWHERE reasons_csv = '';\n\n"
        f"INSERT INTO {table_ref(catalog, namespace, t.quarantine_table)}\nSELECT\n"
        f"  {quarantine}\nFROM {checked}\nWHERE reasons_csv <> '';\n"
    )
