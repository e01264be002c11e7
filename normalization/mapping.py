"""How a provider's events map to the unified event (contract §5), as data.

A provider is a `ProviderMapping`: where its envelope keeps the event id, type, merchant
and creation time, and one `EventMapping` per group of its event types, which says, for
each unified column, which JSON path of the message holds it. `normalization.flink_sql`
renders these into Flink SQL; a third provider is one more module like `stripe.py`.

Every path yields text: the JSON scalar at that path, trimmed, with the null-like tokens
of `validation.rules.NULL_TOKENS` turned into NULL. An object or array yields its compact
JSON text, as in `validation.rules`: present, so never "missing" (an amount that is an
object is INVALID_AMOUNT).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Path:
    """The scalar text at a JSON path, e.g. `Path("$.data.object.amount")`."""

    path: str


@dataclass(frozen=True)
class Const:
    value: str


@dataclass(frozen=True)
class FirstOf:
    """The first of several expressions that is not NULL."""

    options: tuple[Expr, ...]


Expr = Path | Const | FirstOf


def first_of(*options: Expr | str) -> FirstOf:
    """`first_of("$.a", "$.b")`: strings are paths."""
    return FirstOf(tuple(Path(o) if isinstance(o, str) else o for o in options))


@dataclass(frozen=True)
class JsonFragment:
    """A member of the `metadata` JSON: an object or array kept as JSON, or a scalar's text."""

    path: str
    structured: bool = False


@dataclass(frozen=True)
class ByStatus:
    """The unified event type follows the provider's status (lower-cased)."""

    types: Mapping[str, str]


# Unified columns an event mapping may fill; the rest are computed by the job.
MAPPED_COLUMNS = (
    "object_id",
    "customer_id",
    "amount_minor",
    "currency",
    "payment_method_type",
    "card_brand",
    "card_last_four",
    "status",
    "failure_code",
    "failure_message",
)
REQUIRED_BY_DEFAULT = frozenset({"amount_minor", "currency"})


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class EventMapping:
    """Provider event types whose objects share a shape, and how each column is found."""

    provider_types: tuple[str, ...]
    # A unified event type for all of them, a dict by provider type, or by status.
    event_type: str | Mapping[str, str] | ByStatus
    columns: Mapping[str, Expr]
    # Provider fields without a column, kept in `metadata` (besides the envelope's own).
    metadata: Mapping[str, JsonFragment] = field(default_factory=dict)
    # Columns whose absence makes the event unusable (MISSING_AMOUNT, MISSING_CURRENCY).
    required: frozenset[str] = REQUIRED_BY_DEFAULT

    def __post_init__(self) -> None:
        unknown = set(self.columns) - set(MAPPED_COLUMNS)
        if unknown:
            raise ValueError(f"not unified columns: {sorted(unknown)}")
        if isinstance(self.event_type, Mapping) and set(self.event_type) != set(
            self.provider_types
        ):
            raise ValueError(f"event types of {self.provider_types} must each have a unified one")
        if isinstance(self.event_type, ByStatus) and "status" not in self.columns:
            raise ValueError("a unified type by status needs a status column")
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        if isinstance(self.event_type, Mapping):
            object.__setattr__(self, "event_type", _frozen(self.event_type))

    def unified_type_of(self, provider_type: str) -> str | ByStatus:
        if isinstance(self.event_type, str | ByStatus):
            return self.event_type
        return self.event_type[provider_type]


@dataclass(frozen=True)
class ProviderMapping:
    name: str  # the unified `provider` value
    topic: str  # the raw topic the gateway writes (contract §2)
    event_id: Expr
    event_type: Expr
    merchant_id: Expr
    created_at: Expr  # epoch seconds/millis or RFC 3339, as validation.rules accepts
    events: tuple[EventMapping, ...]
    # Envelope fields without a column, kept in `metadata` for every event type.
    metadata: Mapping[str, JsonFragment] = field(default_factory=dict)

    def __post_init__(self) -> None:
        types = [t for e in self.events for t in e.provider_types]
        duplicated = {t for t in types if types.count(t) > 1}
        if duplicated:
            raise ValueError(f"{self.name}: event types mapped twice: {sorted(duplicated)}")
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @property
    def provider_types(self) -> tuple[str, ...]:
        return tuple(t for e in self.events for t in e.provider_types)
