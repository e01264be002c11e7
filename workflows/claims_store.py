"""Which enrichment workflow owns each event_id: the side stream's dedupe of redeliveries.

`payments.normalized` is written at least once, so the same event can reach the bridge
again at a new offset, in another batch with another workflow id. Before it scores
anything, an enrichment workflow claims its events here (PRIMARY KEY event_id, first
claim wins) and then scores, publishes and recovers only the events it owns. A retried
claim, or a re-run of the same workflow id, finds its own claims and carries on.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from workflows.pg_tables import create_table, drop_table

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    event_id    TEXT PRIMARY KEY,              -- payments.event_id
    workflow_id TEXT NOT NULL,                 -- the enrichment workflow that owns it
    claimed_at  TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


def ensure_claims_table(dsn: str, table: str) -> None:
    """Creates the table if missing; safe when several workers start at once."""
    create_table(dsn, CREATE_TABLE, table)


def drop_claims_table(dsn: str, table: str) -> None:
    drop_table(dsn, table)


class ClaimsStore:
    def __init__(self, dsn: str, table: str) -> None:
        self._dsn = dsn
        name = sql.Identifier(table)
        self._claim = sql.SQL(
            "INSERT INTO {table} (event_id, workflow_id) "
            "SELECT unnest(%(ids)s::text[]), %(workflow_id)s ON CONFLICT (event_id) DO NOTHING"
        ).format(table=name)
        self._owned = sql.SQL(
            "SELECT event_id FROM {table} "
            "WHERE event_id = ANY(%(ids)s::text[]) AND workflow_id = %(workflow_id)s"
        ).format(table=name)

    async def claim(self, workflow_id: str, event_ids: list[str]) -> list[str]:
        """Claims the ids for the workflow; returns those it owns, in input order."""
        params = {"ids": event_ids, "workflow_id": workflow_id}
        async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
            await conn.execute(self._claim, params)
            cursor = await conn.execute(self._owned, params)
            owned = {row[0] for row in await cursor.fetchall()}
        return [event_id for event_id in event_ids if event_id in owned]
