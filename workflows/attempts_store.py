"""The recovery attempts table in the platform's PostgreSQL.

One row per retry attempt of a failed payment, keyed by (workflow_id, attempt): a retried
activity inserts the same key again and `ON CONFLICT DO NOTHING` keeps the first row, so
an attempt is recorded exactly once however often the activity runs.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from workflows.models import AttemptRecord
from workflows.pg_tables import create_table, drop_table

COLUMNS = (
    "workflow_id",
    "attempt",
    "event_id",
    "merchant_id",
    "customer_id",
    "amount_minor",
    "currency",
    "method",
    "delay_seconds",
    "model_version",
    "outcome",
    "decline_code",
    "scheduled_at",
    "attempted_at",
)

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    workflow_id   TEXT NOT NULL,              -- recovery-<event_id>
    attempt       INTEGER NOT NULL CHECK (attempt >= 1),
    event_id      TEXT NOT NULL,              -- payments.event_id of the failed payment
    merchant_id   TEXT,
    customer_id   TEXT,
    amount_minor  BIGINT,
    currency      TEXT,
    method        TEXT NOT NULL,              -- the retry strategy's method
    delay_seconds DOUBLE PRECISION NOT NULL,  -- how long the durable timer waited
    model_version TEXT NOT NULL,              -- who chose the strategy (or 'fallback')
    outcome       TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'abandoned')),
    decline_code  TEXT,
    scheduled_at  TIMESTAMPTZ NOT NULL,       -- when the timer was set to fire
    attempted_at  TIMESTAMPTZ NOT NULL,       -- workflow time of the attempt
    recorded_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, attempt)
)
"""


def ensure_attempts_table(dsn: str, table: str) -> None:
    """Creates the table if missing; safe when several workers start at once."""
    create_table(dsn, CREATE_TABLE, table)


def drop_attempts_table(dsn: str, table: str) -> None:
    drop_table(dsn, table)


class AttemptsStore:
    def __init__(self, dsn: str, table: str) -> None:
        self._dsn = dsn
        self._insert = sql.SQL(
            "INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT DO NOTHING"
        ).format(
            table=sql.Identifier(table),
            columns=sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
            values=sql.SQL(", ").join(sql.Placeholder(c) for c in COLUMNS),
        )

    async def record(self, record: AttemptRecord) -> bool:
        """Inserts the attempt; False when it was already there."""
        # A connection per call: attempts are rare, and PostgreSQL may restart in between.
        async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
            cursor = await conn.execute(self._insert, {c: getattr(record, c) for c in COLUMNS})
            return cursor.rowcount == 1
