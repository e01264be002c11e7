"""A namespace of the benchmark's own, and synthetic rows shaped like the pipeline's tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from pyiceberg.catalog import Catalog

from contracts.events import CHARGES
from contracts.reasons import Reason

MERCHANTS = 50
CURRENCIES = ("USD", "EUR", "GBP", "JPY")
STATUSES = ("succeeded", "succeeded", "succeeded", "pending", "failed")
REASONS = (
    Reason.INVALID_CURRENCY,
    Reason.MISSING_AMOUNT,
    Reason.INVALID_TIMESTAMP,
    Reason.MALFORMED_JSON,
)
EPOCH = datetime(2026, 10, 1, tzinfo=UTC)


@contextmanager
def bench_namespace(catalog: Catalog, prefix: str = "bench") -> Iterator[str]:
    """A fresh namespace, purged with all its tables afterwards (also on failure)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    catalog.create_namespace(name)
    try:
        yield name
    finally:
        for identifier in catalog.list_tables(name):
            catalog.purge_table(identifier)
        catalog.drop_namespace(name)


def charge_insert(table: str, start: int, count: int, ingested_at: datetime) -> str:
    """One INSERT (one Iceberg commit) of `count` bronze charges numbered from `start`,
    created over 30 days; the rows of one commit were ingested at about the same time, as
    the rows of one streaming checkpoint are."""
    at = _timestamp(ingested_at)
    currencies = _array(CURRENCIES)
    statuses = _array(STATUSES)
    return f"""INSERT INTO {table} (charge_id, customer_id, merchant_id, amount, amount_minor,
  currency, status, provider, payment_method, card_brand, card_last4, country, risk_score,
  created_at, ingested_at, kafka_partition, kafka_offset, kafka_timestamp)
SELECT 'ch_' || lpad(CAST(n AS varchar), 12, '0'), 'cus_' || CAST(n % 10007 AS varchar),
  'acct_' || lpad(CAST(n % {MERCHANTS} AS varchar), 4, '0'),
  CAST(n % 100000 AS decimal(18, 4)) / 100, n % 100000,
  element_at({currencies}, CAST(n % {len(CURRENCIES)} AS integer) + 1),
  element_at({statuses}, CAST(n % {len(STATUSES)} AS integer) + 1),
  IF(n % 3 = 0, 'square', 'stripe'), 'card', IF(n % 2 = 0, 'mastercard', 'visa'),
  lpad(CAST(n % 10000 AS varchar), 4, '0'), 'US', (n % 100) / 100e0,
  {_timestamp(EPOCH)} + n * 7 % (30 * 24 * 60) * INTERVAL '1' MINUTE,
  {at}, CAST(n % 3 AS integer), n, {at}
FROM UNNEST(sequence({start}, {start + count - 1})) AS t(n)"""


def quarantine_insert(table: str, start: int, count: int, ingested_at: datetime) -> str:
    at = _timestamp(ingested_at)
    reasons = _array(REASONS)
    return f"""INSERT INTO {table} (raw_payload, rejection_reason, rejection_reasons,
  quarantine_timestamp, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, charge_id)
SELECT '{{"charge_id": "ch_' || CAST(n AS varchar) || '", "currency": "XXX"}}', reason,
  ARRAY[reason], {at}, '{CHARGES.topic}', CAST(n % 3 AS integer), n, {at},
  'ch_' || CAST(n AS varchar)
FROM (SELECT n, element_at({reasons}, CAST(n % {len(REASONS)} AS integer) + 1) AS reason
      FROM UNNEST(sequence({start}, {start + count - 1})) AS t(n))"""


def _timestamp(value: datetime) -> str:
    return f"TIMESTAMP '{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f} UTC'"


def _array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"
