"""The side stream's own PostgreSQL tables (claims, recovery attempts): created when
missing, by any number of workers at once, and dropped by tests and benchmarks; and the
pool of connections their stores share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

# How long an activity waits for a connection (PostgreSQL down or restarting) before its
# try fails and the activity's retry policy takes over.
CONNECTION_TIMEOUT_SECONDS = 10.0


class Connections:
    """Connections reused across activities: opening one costs a SCRAM handshake, which
    at a recovery attempt per failed payment was a tenth of the worker's CPU. Opened on
    first use, in the worker's event loop. A connection that a PostgreSQL restart broke is
    found at checkout and replaced; while PostgreSQL is down, an activity's try fails after
    CONNECTION_TIMEOUT_SECONDS."""

    def __init__(self, dsn: str, max_size: int = 4) -> None:
        self._pool = AsyncConnectionPool(
            dsn,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": True},
            check=AsyncConnectionPool.check_connection,
            timeout=CONNECTION_TIMEOUT_SECONDS,
        )
        self._opened = False
        self._opening = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        async with self._opening:
            if not self._opened:
                await self._pool.open(wait=False)
                self._opened = True
        async with self._pool.connection() as conn:
            yield conn

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()


def create_table(dsn: str, create_statement: str, table: str) -> None:
    """Runs `create_statement` (a CREATE TABLE IF NOT EXISTS with a `{table}` placeholder)."""
    # UniqueViolation: another worker created it between the check and the create.
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        contextlib.suppress(psycopg.errors.UniqueViolation),
    ):
        conn.execute(sql.SQL(create_statement).format(table=sql.Identifier(table)))


def drop_table(dsn: str, table: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
