"""The side stream's own PostgreSQL tables (claims, recovery attempts): created when
missing, by any number of workers at once, and dropped by tests and benchmarks."""

from __future__ import annotations

import contextlib

import psycopg
from psycopg import sql


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
