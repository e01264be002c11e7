"""A PyIceberg catalog and a Trino connection for the shared `lakehouse` catalog."""

from __future__ import annotations

from typing import Any

import trino.dbapi
from pyiceberg.catalog.sql import SqlCatalog

from lakehouse.settings import LakehouseSettings


def load_catalog(settings: LakehouseSettings | None = None) -> SqlCatalog:
    """The Iceberg JDBC catalog on PostgreSQL, as PyIceberg sees it.

    PyIceberg creates the catalog's tables (JDBC schema V1) if they are missing, which
    Trino's JDBC catalog does not do, so the platform's bootstrap goes through here.
    """
    settings = settings or LakehouseSettings()
    return SqlCatalog(
        settings.catalog_name,
        uri=settings.sqlalchemy_uri,
        warehouse=settings.warehouse,
    )


def trino_connection(
    settings: LakehouseSettings | None = None, *, schema: str | None = None
) -> trino.dbapi.Connection:
    """A DB-API connection to Trino on the `lakehouse` catalog."""
    settings = settings or LakehouseSettings()
    return trino.dbapi.connect(
        host=settings.trino_host,
        port=settings.trino_port,
        user=settings.trino_user,
        catalog=settings.catalog_name,
        schema=schema or settings.namespace,
    )


def trino_rows(settings: LakehouseSettings, sql: str) -> list[tuple[Any, ...]]:
    """Every row of one query, on a connection of its own (closed after it)."""
    connection = trino_connection(settings)
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        connection.close()
