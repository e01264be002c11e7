"""House rule 4: the dbt project parses (in-process, into a temporary target path)."""

from __future__ import annotations

import pytest
from dbt.cli.main import dbtRunner
from dbt.contracts.graph.manifest import Manifest

from contracts.tables import (
    ENRICHMENT_QUARANTINE_TABLE,
    NAMESPACE,
    REDELIVERY_TABLE,
    table_definitions,
)
from tests.dbt.conftest import DBT_PROJECT_DIR

MARTS = {
    "fct_payments",
    "fct_daily_payments",
    "dim_customer",
    "dim_merchant",
    "dim_date",
    "merchant_health_scores",
    "quarantine_summary",
    "suspicious_events",
}
# dbt reads every table the pipelines write except the two kept for reconciliation.
NOT_MODELLED = {ENRICHMENT_QUARANTINE_TABLE, REDELIVERY_TABLE}
TABLES = {name: (columns, partition) for name, columns, partition in table_definitions()}
SOURCES = set(TABLES) - NOT_MODELLED


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Manifest:
    target = tmp_path_factory.mktemp("dbt_target")
    result = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(target),
            "--no-partial-parse",
        ]
    )
    assert result.success, result.exception
    assert isinstance(result.result, Manifest)
    return result.result


def nodes_of(manifest: Manifest, resource_type: str) -> dict[str, object]:
    return {
        node.name: node
        for node in manifest.nodes.values()
        if node.resource_type.value == resource_type
    }


def test_every_source_table_is_declared_with_freshness(manifest):
    sources = {source.name: source for source in manifest.sources.values()}
    assert set(sources) == SOURCES
    loaded_at = {name: source.loaded_at_field for name, source in sources.items()}
    assert loaded_at["payment_charges"] == "ingested_at"
    assert loaded_at["quarantine_payment_refunds"] == "quarantine_timestamp"
    assert loaded_at["payments"] == "processed_at"
    assert loaded_at["payment_enrichments"] == "enriched_at"
    assert sources["payment_charges"].freshness.error_after.count == 24


def test_sources_are_the_contract_tables_with_their_columns(manifest):
    """dbt's sources are checked against contracts.tables: the tables the jobs write, the
    columns dbt tests exist there, and freshness is judged on the day-partition column."""
    for source in manifest.sources.values():
        columns, partition = TABLES[source.name]
        assert source.schema == NAMESPACE
        assert set(source.columns) <= {name for name, _ in columns}, source.name
        assert source.loaded_at_field == partition, source.name


def test_layers_land_in_their_own_schemas(manifest):
    models = nodes_of(manifest, "model")
    assert set(models) >= MARTS
    for name, model in models.items():
        layer = "gold" if name in MARTS else "silver"
        assert model.schema.endswith(f"_{layer}"), (name, model.schema)


def test_fct_payments_is_an_incremental_merge_on_payment_id(manifest):
    config = nodes_of(manifest, "model")["fct_payments"].config
    assert (config.materialized, config.incremental_strategy, config.unique_key) == (
        "incremental",
        "merge",
        "payment_id",
    )


def test_subscription_history_is_a_timestamp_snapshot(manifest):
    snapshot = nodes_of(manifest, "snapshot")["subscription_status_snapshot"]
    assert (snapshot.config.strategy, snapshot.config.unique_key) == (
        "timestamp",
        "subscription_id",
    )


def test_keys_are_tested_and_models_with_logic_have_unit_tests(manifest):
    tests = nodes_of(manifest, "test")
    assert "unique_fct_payments_payment_id" in tests
    assert "unique_dim_customer_customer_id" in tests
    assert any(name.startswith("relationships_fct_payments_merchant_id") for name in tests)
    unit_tested = {test.model for test in manifest.unit_tests.values()}
    assert {"merchant_health_scores", "dim_customer", "suspicious_events"} <= unit_tested
