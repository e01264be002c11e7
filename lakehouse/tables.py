"""Creates the contract's tables (contracts.tables) in the shared Iceberg catalog, with
PyIceberg: column type words become Iceberg types, and each table is partitioned by day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts.tables import (
    AMOUNT,
    BIGINT,
    DOUBLE,
    INT,
    STRING,
    STRINGS,
    TIMESTAMPTZ,
    Columns,
    table_definitions,
)

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.partitioning import PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.types import IcebergType

# Frequent small commits (one per checkpoint) must not pile up metadata files.
TABLE_PROPERTIES = {
    "format-version": "2",
    "write.parquet.compression-codec": "zstd",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "50",
}


def iceberg_type(kind: str, next_id: list[int]) -> IcebergType:
    from pyiceberg.types import (
        DecimalType,
        DoubleType,
        IntegerType,
        ListType,
        LongType,
        StringType,
        TimestamptzType,
    )

    simple: dict[str, IcebergType] = {
        STRING: StringType(),
        AMOUNT: DecimalType(18, 4),
        BIGINT: LongType(),
        INT: IntegerType(),
        DOUBLE: DoubleType(),
        TIMESTAMPTZ: TimestamptzType(),
    }
    if kind == STRINGS:
        next_id[0] += 1
        return ListType(next_id[0], StringType(), element_required=False)
    return simple[kind]


def iceberg_schema(columns: Columns) -> Schema:
    from pyiceberg.schema import Schema
    from pyiceberg.types import NestedField

    field_ids = [len(columns)]
    fields = [
        NestedField(position, name, iceberg_type(kind, field_ids), required=False)
        for position, (name, kind) in enumerate(columns, start=1)
    ]
    return Schema(*fields)


def day_partitioned(schema: Schema, column: str) -> PartitionSpec:
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.transforms import DayTransform

    source = schema.find_field(column)
    return PartitionSpec(PartitionField(source.field_id, 1000, DayTransform(), f"{column}_day"))


def ensure_tables(catalog: Catalog, namespace: str) -> list[str]:
    """Creates whichever of the pipelines' tables are missing; returns those it created."""
    catalog.create_namespace_if_not_exists(namespace)
    created = []
    for table, columns, partition_column in table_definitions():
        identifier = f"{namespace}.{table}"
        if catalog.table_exists(identifier):
            continue
        schema = iceberg_schema(columns)
        catalog.create_table(
            identifier,
            schema=schema,
            partition_spec=day_partitioned(schema, partition_column),
            properties=TABLE_PROPERTIES,
        )
        created.append(identifier)
    return created
