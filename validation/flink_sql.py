"""The rules of `validation.rules`, rendered as Flink SQL.

For an event type `t` reading from a table with the raw-message columns (`payload`,
`kafka_topic`, `kafka_partition`, `kafka_offset`, `kafka_timestamp`), `render_views` creates
a chain of temporary views, one concern each, ending in `t_checked`: every normalised
field, `amount_minor`, and `reasons_csv` (the failed checks in contract order, '' when
none). `render_inserts` writes `t_checked` to the bronze and quarantine tables.
"""

from __future__ import annotations

from collections import defaultdict

from validation.currencies import MINOR_UNITS
from validation.rules import (
    AMOUNT_PARSE_PRECISION,
    AMOUNT_PARSE_SCALE,
    EPOCH_MILLIS_FROM,
    EPOCH_MILLIS_MAX,
    EPOCH_PATTERN,
    MAX_AMOUNT,
    NULL_TOKENS,
    NUMERIC_PATTERN,
    TIMESTAMP_ISO_PATTERN,
    TIMESTAMP_UTC_PATTERN,
    EventType,
    Field,
    Kind,
    Reason,
)
from validation.tables import bronze_columns, quarantine_columns

RAW_COLUMNS = ("payload", "kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp")
TRIM_PATTERN = r"^[ \t\n\r]+|[ \t\n\r]+$"
PARSED_DECIMAL = f"DECIMAL({AMOUNT_PARSE_PRECISION}, {AMOUNT_PARSE_SCALE})"
MAX_OFFSET_HOURS = 18


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def in_list(values: list[str] | tuple[str, ...]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


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


def extracted_view(t: EventType, source: str) -> str:
    """Is the message a JSON object, and each member's text, trimmed."""
    is_object = (
        "COALESCE(payload IS JSON OBJECT"
        " AND REGEXP(payload, '^[ \\t\\n\\r]*\\{')"
        " AND REGEXP(payload, '\\}[ \\t\\n\\r]*$'), FALSE) AS is_object"
    )
    select = [*RAW_COLUMNS, is_object]
    select += [
        fence(f"REGEXP_REPLACE(JSON_VALUE(payload, '$.{f.name}'), {literal(TRIM_PATTERN)}, '')")
        + f" AS {f.name}_trimmed"
        for f in t.fields
    ]
    return view(f"{t.name}_extracted", select, source)


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


def parsed_view(t: EventType) -> str:
    """Numbers, currencies' minor units, and the pieces of each timestamp form."""
    numeric = literal(NUMERIC_PATTERN)
    select = ["*", f"{fence(minor_units_case('currency'))} AS minor_units"]
    for f in t.fields:
        text = text_column(f)
        if f.kind is Kind.AMOUNT:
            amount = (
                f"CASE WHEN REGEXP({text}, {numeric}) THEN TRY_CAST({text} AS {PARSED_DECIMAL}) END"
            )
            select.append(f"{fence(amount)} AS amount_value")
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
    select.append(
        # Cast back to the parsed type: compared as they are, Flink would bring both sides
        # to a common decimal type with fewer decimals and lose exactly what is checked.
        per_minor_units(f"amount_value <> CAST(ROUND(amount_value, {{scale}}) AS {PARSED_DECIMAL})")
        + " AS amount_too_precise"
    )
    return view(f"{t.name}_typed", select, f"{t.name}_parsed")


def reason_conditions(t: EventType) -> list[tuple[Reason, str]]:
    """Each reason with the condition under which it applies, in contract order."""
    negative = "amount_value < 0" if t.zero_amount_allowed else "amount_value <= 0"
    return [
        (Reason.MALFORMED_JSON, "NOT is_object"),
        (t.missing_id_reason, f"is_object AND {t.id_field} IS NULL"),
        (t.missing_reference_reason, f"is_object AND {t.reference_field} IS NULL"),
        (Reason.MISSING_CURRENCY, "is_object AND currency IS NULL"),
        (Reason.INVALID_CURRENCY, "currency IS NOT NULL AND minor_units IS NULL"),
        (Reason.MISSING_AMOUNT, "is_object AND amount_text IS NULL"),
        (Reason.INVALID_AMOUNT, "amount_text IS NOT NULL AND amount_value IS NULL"),
        (Reason.INVALID_AMOUNT_NEGATIVE, negative),
        (Reason.INVALID_AMOUNT_TOO_LARGE, f"amount_value > {MAX_AMOUNT}"),
        # Needs a valid currency: skipped (NULL minor units) after an invalid one.
        (Reason.INVALID_AMOUNT_PRECISION, "amount_too_precise"),
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
    return view(f"{t.name}_checked", select, f"{t.name}_typed")


def render_views(t: EventType, source: str) -> str:
    """Every view of `t`, reading the raw messages from `source`."""
    return "\n".join(
        [extracted_view(t, source), cleaned_view(t), parsed_view(t), typed_view(t), checked_view(t)]
    )


def bronze_select(t: EventType) -> list[str]:
    expressions = {
        "amount": "CAST(amount_value AS DECIMAL(18, 4))",
        "ingested_at": "CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))",
        "kafka_timestamp": "CAST(kafka_timestamp AS TIMESTAMP_LTZ(6))",
    }
    return [
        f"{expressions[name]} AS {name}" if name in expressions else name
        for name, _ in bronze_columns(t)
    ]


def quarantine_select(t: EventType) -> list[str]:
    expressions = {
        "raw_payload": "payload",
        "rejection_reason": "SPLIT_INDEX(reasons_csv, ',', 0)",
        "rejection_reasons": "SPLIT(reasons_csv, ',')",
        "quarantine_timestamp": "CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))",
        "kafka_timestamp": "CAST(kafka_timestamp AS TIMESTAMP_LTZ(6))",
    }
    return [
        f"{expressions[name]} AS {name}" if name in expressions else name
        for name, _ in quarantine_columns(t)
    ]


def render_inserts(t: EventType, catalog: str, namespace: str) -> str:
    """Valid rows to bronze, the rest to quarantine: every message lands in exactly one."""
    checked = f"{t.name}_checked"
    bronze = ",\n  ".join(bronze_select(t))
    quarantine = ",\n  ".join(quarantine_select(t))
    return (
        f"INSERT INTO {catalog}.{namespace}.{t.bronze_table}\nSELECT\n  {bronze}\n"
        f"FROM {checked}\nWHERE reasons_csv = '';\n\n"
        f"INSERT INTO {catalog}.{namespace}.{t.quarantine_table}\nSELECT\n  {quarantine}\n"
        f"FROM {checked}\nWHERE reasons_csv <> '';\n"
    )
