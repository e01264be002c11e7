"""The provider mappings of `normalization.providers`, rendered as Flink SQL.

Per provider, four views over its raw Kafka table: `<p>_json` (the message parsed once by
JSON_MEMBERS: is it one JSON object, and the text at every path the mapping reads),
`<p>_envelope` (the envelope's id, type, merchant and times as cleaned text), `<p>_mapped` (each
unified column by the event type's mapping) and `<p>_unified` (the unified event type).
The providers' views meet in `normalized_events`; then one chain for all of them:
`normalized_parsed` (currency minor units, amount, timestamp pieces), `normalized_typed`
(timestamps), `normalized_checked` (event id, the reasons in NORMALIZATION_REASONS order
as `reasons_csv`, processing time). Valid events are numbered among the deliveries of their
event id (`normalized_deliveries`); the first delivery is shaped as `unified_payments`, the
later ones as `payment_redeliveries`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from contracts.currencies import MINOR_UNITS
from contracts.events import Field, Kind
from contracts.reasons import NORMALIZATION_REASONS, Reason
from contracts.tables import (
    REDELIVERY_COLUMNS,
    REDELIVERY_TABLE,
    TIMESTAMPTZ,
    UNIFIED_COLUMNS,
    UNIFIED_QUARANTINE_COLUMNS,
    UNIFIED_QUARANTINE_TABLE,
    UNIFIED_SCHEMA_VERSION,
    UNIFIED_TABLE,
    Columns,
)
from flink_jobs.ddl import (
    FLINK_TYPES,
    HEADERS_COLUMN,
    json_members,
    kafka_raw_source,
    literal,
    quarantine_projection,
    table_ref,
)
from normalization.mapping import (
    MAPPED_COLUMNS,
    ByStatus,
    Const,
    EventMapping,
    Expr,
    FirstOf,
    JsonFragment,
    Path,
    ProviderMapping,
)
from normalization.settings import NormalizationSettings
from validation.flink_sql import (
    fence,
    in_list,
    member,
    minor_units_case,
    raw_payload_column,
    timestamp_expression,
    trimmed,
    view,
)
from validation.rules import (
    EPOCH_PATTERN,
    MAX_AMOUNT,
    NULL_TOKENS,
    TIMESTAMP_ISO_PATTERN,
    TIMESTAMP_UTC_PATTERN,
)

RAW_COLUMNS = ("payload", "kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp")
# An integer number of minor units that fits a BIGINT (an optional sign, up to 18 digits).
MINOR_UNITS_PATTERN = r"^[+-]?[0-9]{1,18}$"
# Unified columns kept in a case of their own, whatever the provider sends.
LOWER_CASE = frozenset({"status", "card_brand", "payment_method_type"})
UPPER_CASE = frozenset({"currency"})
# The text each mapped column is kept as before it is parsed.
TEXT_NAMES = {"amount_minor": "amount_text"}
# What every provider's `<p>_unified` view gives `normalized_events`, in this order.
EVENT_COLUMNS = (
    *RAW_COLUMNS,
    "proctime",
    "is_object",
    "provider",
    "provider_event_id",
    "provider_event_type",
    "event_type",
    "supported",
    "status_decides_type",
    "amount_required",
    "currency_required",
    "merchant_id",
    "created_at_text",
    "received_at_text",
    *(TEXT_NAMES.get(c, c) for c in MAPPED_COLUMNS),
    "metadata",
)
RFC3339_UTC = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"


def raw_table(provider: ProviderMapping) -> str:
    return f"raw_{provider.name}"


def clean_text(expression: str) -> str:
    """Trimmed text (TRIM: linear, unlike a regex); NULL for the null-like tokens (§4)."""
    text = trimmed(expression)
    return (
        f"CASE WHEN LOWER({text}) IN {in_list(NULL_TOKENS)}"
        f" THEN CAST(NULL AS STRING) ELSE {text} END"
    )


def expression_paths(e: Expr) -> list[str]:
    if isinstance(e, Path):
        return [e.path]
    if isinstance(e, FirstOf):
        return [path for o in e.options for path in expression_paths(o)]
    return []


def provider_paths(p: ProviderMapping) -> tuple[str, ...]:
    """Every JSON path the provider's views read, once each, in the order they are read."""
    expressions = [p.event_id, p.event_type, p.merchant_id, p.created_at]
    expressions += [e.columns[c] for c in MAPPED_COLUMNS for e in p.events if c in e.columns]
    paths = [path for e in expressions for path in expression_paths(e)]
    fragments = [*p.metadata.values(), *(f for e in p.events for f in e.metadata.values())]
    paths += [f.path for f in fragments]
    return tuple(dict.fromkeys(paths))


def expression(e: Expr, paths: tuple[str, ...]) -> str:
    """`e` over `<p>_json`, whose JSON_MEMBERS call reads `paths`."""
    if isinstance(e, Path):
        # A container is present, not missing: its JSON text, as validation.rules says.
        return clean_text(member(paths.index(e.path)))
    if isinstance(e, Const):
        return literal(e.value)
    if isinstance(e, FirstOf):
        return "COALESCE(" + ", ".join(expression(o, paths) for o in e.options) + ")"
    raise TypeError(f"not a mapping expression: {e!r}")


def json_member(key: str, fragment: JsonFragment, paths: tuple[str, ...]) -> str:
    """`,"key":<value>` for the metadata JSON, or '' when the message has no such value.

    A structured fragment is JSON_QUERY's text (`scalars` FALSE), any other JSON_VALUE's
    (`scalars` TRUE), both from the one parse.
    """
    index = paths.index(fragment.path)
    text = member(index)
    scalar = f"json.scalars[{index + 1}]"
    value = (
        f"CASE WHEN NOT {scalar} THEN {text} END"
        if fragment.structured
        else f"JSON_STRING(CASE WHEN {scalar} THEN {text} END)"
    )
    prefix = literal("," + json.dumps(key) + ":")
    return f"COALESCE({prefix} || {value}, '')"


def metadata_json(members: Mapping[str, JsonFragment], paths: tuple[str, ...]) -> str:
    """A JSON object of the members the message has, in the mapping's order."""
    if not members:
        return "'{}'"
    parts = ", ".join(json_member(k, f, paths) for k, f in members.items())
    # Each member starts with a comma; the first one's is dropped.
    return f"'{{' || SUBSTRING(CONCAT({parts}, '') FROM 2) || '}}'"


def json_view(p: ProviderMapping) -> str:
    """Each message parsed once (`JSON_MEMBERS`): whether it is one JSON object and nothing
    after it (§4, as the validation job checks), and the text at every path the views read.
    `payload` stays the raw text, for quarantine."""
    select = ["*", f"{json_members(provider_paths(p))} AS json"]
    return view(f"{p.name}_json", select, raw_table(p))


def envelope_view(p: ProviderMapping) -> str:
    paths = provider_paths(p)
    header = clean_text("DECODE(headers['received_at'], 'UTF-8')")
    select = [
        *RAW_COLUMNS,
        "proctime",
        "json",
        "json.is_object AS is_object",
        f"{fence(expression(p.event_id, paths))} AS provider_event_id",
        f"{fence(expression(p.event_type, paths))} AS provider_event_type",
        f"{fence(expression(p.merchant_id, paths))} AS merchant_id",
        f"{fence(expression(p.created_at, paths))} AS created_at_text",
        f"{fence(header)} AS received_at_text",
    ]
    return view(f"{p.name}_envelope", select, f"{p.name}_json")


def types_of(events: Iterable[EventMapping]) -> str:
    return in_list([t for e in events for t in e.provider_types])


def by_event_type(p: ProviderMapping, value_of: dict[int, str]) -> str:
    """A CASE on the provider's event type: each mapping's value (by index), else NULL."""
    whens = [
        f"WHEN provider_event_type IN {types_of([e])} THEN {value_of[i]}"
        for i, e in enumerate(p.events)
        if i in value_of
    ]
    return "CASE " + " ".join(whens) + " END" if whens else "CAST(NULL AS STRING)"


def cased(column: str, sql: str) -> str:
    if column in LOWER_CASE:
        return f"LOWER({sql})"
    if column in UPPER_CASE:
        return f"UPPER({sql})"
    return sql


def flag(p: ProviderMapping, events: list[EventMapping]) -> str:
    return f"COALESCE(provider_event_type IN {types_of(events)}, FALSE)" if events else "FALSE"


def mapped_view(p: ProviderMapping) -> str:
    paths = provider_paths(p)
    select = ["*", f"{flag(p, list(p.events))} AS supported"]
    for column in MAPPED_COLUMNS:
        values = {
            i: cased(column, expression(e.columns[column], paths))
            for i, e in enumerate(p.events)
            if column in e.columns
        }
        select.append(f"{fence(by_event_type(p, values))} AS {TEXT_NAMES.get(column, column)}")
    by_status = [e for e in p.events if isinstance(e.event_type, ByStatus)]
    select.append(f"{flag(p, by_status)} AS status_decides_type")
    for column in ("amount_minor", "currency"):
        required = [e for e in p.events if column in e.required]
        select.append(f"{flag(p, required)} AS {column.split('_')[0]}_required")
    metadata = {
        i: metadata_json({**p.metadata, **e.metadata}, paths) for i, e in enumerate(p.events)
    }
    unmapped = metadata_json(p.metadata, paths)
    select.append(f"{fence(f'COALESCE({by_event_type(p, metadata)}, {unmapped})')} AS metadata")
    return view(f"{p.name}_mapped", select, f"{p.name}_envelope")


def unified_type(e: EventMapping) -> str:
    rule = e.event_type
    if isinstance(rule, str):
        return literal(rule)
    if isinstance(rule, ByStatus):
        whens = " ".join(f"WHEN {literal(s)} THEN {literal(t)}" for s, t in rule.types.items())
        return f"CASE status {whens} END"
    whens = " ".join(
        f"WHEN {literal(provider_type)} THEN {literal(unified)}"
        for provider_type, unified in rule.items()
    )
    return f"CASE provider_event_type {whens} END"


def unified_view(p: ProviderMapping) -> str:
    event_type = by_event_type(p, {i: unified_type(e) for i, e in enumerate(p.events)})
    select = ["*", f"{literal(p.name)} AS provider", f"{fence(event_type)} AS event_type"]
    return view(f"{p.name}_unified", select, f"{p.name}_mapped")


def events_view(providers: Iterable[ProviderMapping]) -> str:
    columns = ", ".join(EVENT_COLUMNS)
    union = "\nUNION ALL\n".join(f"SELECT {columns} FROM {p.name}_unified" for p in providers)
    return f"CREATE TEMPORARY VIEW normalized_events AS\n{union};\n"


def timestamp_pieces(name: str) -> list[str]:
    """The columns `validation.flink_sql.timestamp_expression` reads for `name`."""
    text = f"{name}_text"
    utc, iso = literal(TIMESTAMP_UTC_PATTERN), literal(TIMESTAMP_ISO_PATTERN)
    iso_local = f"REGEXP_EXTRACT({text}, {iso}, 1) || ' ' || REGEXP_EXTRACT({text}, {iso}, 2)"
    pieces = {
        "utc_local": f"CASE WHEN REGEXP({text}, {utc}) THEN TRY_CAST({text} AS TIMESTAMP(6)) END",
        "iso_local": f"CASE WHEN REGEXP({text}, {iso})"
        f" THEN TRY_CAST({iso_local} AS TIMESTAMP(6)) END",
        "iso_offset": f"CASE WHEN REGEXP({text}, {iso}) THEN REGEXP_EXTRACT({text}, {iso}, 4) END",
        "epoch": f"CASE WHEN REGEXP({text}, {literal(EPOCH_PATTERN)})"
        f" THEN TRY_CAST({text} AS BIGINT) END",
    }
    return [f"{fence(sql)} AS {name}_{piece}" for piece, sql in pieces.items()]


def parsed_view() -> str:
    amount = (
        f"CASE WHEN REGEXP(amount_text, {literal(MINOR_UNITS_PATTERN)})"
        " THEN TRY_CAST(amount_text AS BIGINT) END"
    )
    select = [
        "*",
        f"{fence(minor_units_case('currency'))} AS minor_units",
        f"{fence(amount)} AS amount_minor",
        *timestamp_pieces("created_at"),
        *timestamp_pieces("received_at"),
    ]
    return view("normalized_parsed", select, "normalized_events")


def typed_view() -> str:
    created = timestamp_expression(Field("created_at", Kind.TIMESTAMP))
    received = timestamp_expression(Field("received_at", Kind.TIMESTAMP))
    select = [
        "*",
        f"{fence(created)} AS provider_created_at",
        # The gateway's header; without one, when the broker appended the message.
        f"{fence(f'COALESCE({received}, CAST(kafka_timestamp AS TIMESTAMP_LTZ(6)))')}"
        " AS received_at",
    ]
    return view("normalized_typed", select, "normalized_parsed")


def max_minor_units() -> str:
    """The largest amount in minor units of the row's currency (validation.rules.MAX_AMOUNT)."""
    whens = " ".join(
        f"WHEN {units} THEN {int(MAX_AMOUNT * 10**units)}"
        for units in sorted(set(MINOR_UNITS.values()))
    )
    return f"CASE minor_units {whens} END"


def reason_conditions() -> list[tuple[Reason, str]]:
    """Each reason with the condition under which it applies, in `Reason` order."""
    conditions = {
        Reason.MALFORMED_JSON: "NOT is_object",
        Reason.MISSING_PROVIDER_EVENT_ID: "is_object AND provider_event_id IS NULL",
        Reason.MISSING_EVENT_TYPE: "is_object AND provider_event_type IS NULL",
        Reason.UNSUPPORTED_EVENT_TYPE: "provider_event_type IS NOT NULL AND NOT supported",
        Reason.MISSING_MERCHANT_ID: "supported AND merchant_id IS NULL",
        Reason.MISSING_CURRENCY: "supported AND currency_required AND currency IS NULL",
        Reason.INVALID_CURRENCY: "supported AND currency IS NOT NULL AND minor_units IS NULL",
        Reason.MISSING_AMOUNT: "supported AND amount_required AND amount_text IS NULL",
        Reason.INVALID_AMOUNT: "supported AND amount_text IS NOT NULL AND amount_minor IS NULL",
        Reason.INVALID_AMOUNT_NEGATIVE: "supported AND amount_minor < 0",
        Reason.INVALID_AMOUNT_TOO_LARGE: f"supported AND amount_minor > {max_minor_units()}",
        Reason.MISSING_CREATED_AT: "supported AND created_at_text IS NULL",
        Reason.INVALID_TIMESTAMP: (
            "supported AND created_at_text IS NOT NULL AND provider_created_at IS NULL"
        ),
        Reason.MISSING_STATUS: "supported AND status_decides_type AND status IS NULL",
        Reason.INVALID_STATUS: (
            "supported AND status_decides_type AND status IS NOT NULL AND event_type IS NULL"
        ),
    }
    return [(reason, conditions[reason]) for reason in NORMALIZATION_REASONS]


def checked_view() -> str:
    cases = ",\n    ".join(
        f"CASE WHEN {condition} THEN {literal(reason.value)} END"
        for reason, condition in reason_conditions()
    )
    event_id = "SUBSTRING(SHA256(provider || ':' || provider_event_id) FROM 1 FOR 32)"
    select = [
        "*",
        f"{event_id} AS event_id",
        f"CONCAT_WS(',',\n    {cases}\n  ) AS reasons_csv",
        # Once per message, so the table and the topic carry the same instant.
        f"{fence('CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))')} AS processed_at",
    ]
    return view("normalized_checked", select, "normalized_typed")


def unified_expressions() -> dict[str, str]:
    computed = {
        "schema_version": str(UNIFIED_SCHEMA_VERSION),
        "kafka_topic": "kafka_topic",
    }
    return {name: computed.get(name, name) for name, _ in UNIFIED_COLUMNS}


# Where the deliveries view remembers a provider event's first delivery to be.
FIRST_DELIVERY_COLUMNS = ("kafka_topic", "kafka_partition", "kafka_offset")


def deliveries_view() -> str:
    """Valid events, each numbered among the deliveries of its event id (append-only).

    A processing-time OVER window from the first row of the key to the current one emits
    each row at once, with its count and the first delivery's coordinates; its state is one
    small accumulator per event id (TTL: `table.exec.state.ttl`). One operator decides both
    which delivery is kept and which are dropped, so the two can never disagree.
    """
    window = (
        "PARTITION BY event_id ORDER BY proctime ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    )
    types = dict(REDELIVERY_COLUMNS)
    firsts = ", ".join(
        f"FIRST_VALUE(CAST({name} AS {FLINK_TYPES[types[f'first_{name}']]})) OVER w AS first_{name}"
        for name in FIRST_DELIVERY_COLUMNS
    )
    # FIRST_VALUE takes no TIMESTAMP_LTZ; the earliest receipt is when the event was first seen.
    first_seen = "MIN(received_at) OVER w AS first_seen_at"
    return (
        "CREATE TEMPORARY VIEW normalized_deliveries AS\n"
        f"SELECT *, COUNT(*) OVER w AS delivery_number, {firsts}, {first_seen}\n"
        f"FROM normalized_checked\nWHERE reasons_csv = ''\nWINDOW w AS ({window});\n"
    )


def first_deliveries_view() -> str:
    """Valid events, each provider event id once: its first delivery (append-only)."""
    columns = ", ".join(f"{sql} AS {name}" for name, sql in unified_expressions().items())
    return (
        "CREATE TEMPORARY VIEW unified_payments AS\n"
        f"SELECT {columns}\nFROM normalized_deliveries\nWHERE delivery_number = 1;\n"
    )


def redeliveries_view() -> str:
    """Every later delivery of a provider event id, dropped from `unified_payments`."""
    computed = {
        "dropped_at": "processed_at",
        "kafka_timestamp": "CAST(kafka_timestamp AS TIMESTAMP_LTZ(6))",
    }
    columns = ", ".join(
        f"{computed[name]} AS {name}" if name in computed else name
        for name, _ in REDELIVERY_COLUMNS
    )
    return (
        "CREATE TEMPORARY VIEW later_deliveries AS\n"
        f"SELECT {columns}\nFROM normalized_deliveries\nWHERE delivery_number > 1;\n"
    )


def render_views(providers: Iterable[ProviderMapping]) -> list[str]:
    """Every view, from the providers' raw tables (`raw_<name>`) to `unified_payments`."""
    providers = list(providers)
    statements = []
    for p in providers:
        statements += [json_view(p), envelope_view(p), mapped_view(p), unified_view(p)]
    statements += [events_view(providers), parsed_view(), typed_view(), checked_view()]
    statements += [deliveries_view(), first_deliveries_view(), redeliveries_view()]
    return statements


# -- tables ---------------------------------------------------------------------------------


def kafka_source(p: ProviderMapping, settings: NormalizationSettings) -> str:
    """The provider's raw topic: each message's bytes, their stored form (`payload`, text
    when UTF-8, else marked base64: validation.rules), its coordinates and headers."""
    return kafka_raw_source(
        raw_table(p),
        topic=settings.topic_of(p.name),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.group_id,
        payload_columns=[raw_payload_column()],
        extra_columns=[HEADERS_COLUMN, "proctime AS PROCTIME()"],
    )


def kafka_columns(columns: Columns) -> str:
    """The topic's JSON: timestamps as RFC 3339 UTC text, everything else as typed."""
    return ",\n  ".join(
        f"{name} {'STRING' if kind == TIMESTAMPTZ else FLINK_TYPES[kind]}" for name, kind in columns
    )


def transactional_options(settings: NormalizationSettings) -> str:
    """The exactly-once sink's options: its transactions' names and how long they may stay
    open (the connector's default, 1 h, is more than a default broker accepts)."""
    timeout_ms = int(settings.normalized_transaction_timeout.total_seconds() * 1000)
    return (
        f",\n  'sink.transactional-id-prefix' = {literal(settings.transactional_id_prefix)}"
        f",\n  'properties.transaction.timeout.ms' = '{timeout_ms}'"
    )


def kafka_sink(settings: NormalizationSettings) -> str:
    guarantee = settings.normalized_delivery_guarantee
    transactional = transactional_options(settings) if guarantee == "exactly-once" else ""
    return f"""CREATE TEMPORARY TABLE normalized_topic (
  {kafka_columns(UNIFIED_COLUMNS)}
) WITH (
  'connector' = 'kafka',
  'topic' = {literal(settings.normalized_topic)},
  'properties.bootstrap.servers' = {literal(settings.kafka_bootstrap_servers)},
  'key.format' = 'raw',
  'key.fields' = 'merchant_id',
  'value.format' = 'json',
  'value.fields-include' = 'ALL',
  'sink.delivery-guarantee' = {literal(guarantee)}{transactional}
);
"""


def table_name(settings: NormalizationSettings, table: str) -> str:
    return table_ref(settings.catalog, settings.namespace, table)


def render_inserts(settings: NormalizationSettings) -> list[str]:
    """Valid first deliveries to the table and the topic, invalid messages to quarantine,
    and the redeliveries dropped to their table: every message lands in exactly one."""
    unified = ", ".join(name for name, _ in UNIFIED_COLUMNS)
    as_text = ", ".join(
        f"DATE_FORMAT({name}, {literal(RFC3339_UTC)}) AS {name}" if kind == TIMESTAMPTZ else name
        for name, kind in UNIFIED_COLUMNS
    )
    # One instant per message: the table and the topic carry the same one.
    quarantine = quarantine_projection(
        UNIFIED_QUARANTINE_COLUMNS, {"quarantine_timestamp": "processed_at"}
    )
    return [
        f"INSERT INTO {table_name(settings, UNIFIED_TABLE)}\nSELECT {unified}\n"
        "FROM unified_payments",
        f"INSERT INTO normalized_topic\nSELECT {as_text}\nFROM unified_payments",
        f"INSERT INTO {table_name(settings, UNIFIED_QUARANTINE_TABLE)}\nSELECT {quarantine}\n"
        "FROM normalized_checked\nWHERE reasons_csv <> ''",
        f"INSERT INTO {table_name(settings, REDELIVERY_TABLE)}\nSELECT *\nFROM later_deliveries",
    ]
