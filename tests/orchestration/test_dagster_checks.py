"""Dagster on the real platform: the dbt assets materialise in-process against Trino, the
freshness checks are `dbt source freshness` on the test's own namespace, and the
quarantine-rate check of a table fails once a burst of bad data lands in its quarantine
table (thresholds lowered through the resource, as an operator would configure them)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from dagster import AssetCheckSeverity, AssetSelection, materialize
from dagster_dbt import build_dbt_asset_selection, get_asset_key_for_model

from lakehouse.tables import ensure_tables
from orchestration.dbt_project import build_dbt_assets, dbt_cli, load_dbt_project
from orchestration.freshness import build_source_freshness_check
from orchestration.quarantine import build_quarantine_checks
from orchestration.resources import QuarantineThresholds, TrinoResource
from tests.dbt.lakehouse_io import drop_dbt_schemas, insert_rows

pytestmark = pytest.mark.integration

THRESHOLDS = QuarantineThresholds(window_minutes=60, max_rows=20, max_rate_pct=50.0)


def charges(count: int) -> list[dict]:
    now = datetime.now(UTC)
    return [
        {
            "charge_id": f"ch_{n}",
            "customer_id": f"cus_{n % 3}",
            "merchant_id": "m_1",
            "amount": Decimal("1.50"),
            "amount_minor": 150,
            "currency": "USD",
            "status": "succeeded",
            "created_at": now,
            "ingested_at": now,
        }
        for n in range(count)
    ]


def quarantined(count: int, reason: str) -> list[dict]:
    return [
        {
            "raw_payload": f'{{"charge_id": "bad_{n}"}}',
            "rejection_reason": reason,
            "rejection_reasons": [reason],
            "quarantine_timestamp": datetime.now(UTC),
            "kafka_topic": "payment_charges",
        }
        for n in range(count)
    ]


@pytest.fixture
def source_namespace(namespace, catalog, lakehouse_settings, trino_rows, monkeypatch):
    ensure_tables(catalog, namespace)
    monkeypatch.setenv("LAKEHOUSE_NAMESPACE", namespace)  # dbt's source schema
    yield namespace
    drop_dbt_schemas(trino_rows, namespace, lakehouse_settings)


def evaluations(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def freshness(result) -> dict[str, tuple[bool, AssetCheckSeverity]]:
    """Source table -> (passed, severity) of its freshness check."""
    return {
        e.asset_key.path[-1]: (e.passed, e.severity)
        for e in result.get_asset_check_evaluations()
        if e.check_name == "source_freshness"
    }


def test_dbt_assets_and_a_quarantine_burst_failing_its_check(
    source_namespace, lakehouse_settings, trino_rows
):
    ns = source_namespace
    insert_rows(trino_rows, f"{ns}.payment_charges", charges(10))
    insert_rows(trino_rows, f"{ns}.quarantine_payment_charges", quarantined(2, "INVALID_CURRENCY"))

    project = load_dbt_project()
    dbt_models = build_dbt_assets(project)

    def key_of(model: str):
        return get_asset_key_for_model([dbt_models], model)

    quarantine_checks = build_quarantine_checks(key_of)
    freshness_checks = [build_source_freshness_check(project)]
    resources = {
        "dbt": dbt_cli(project),
        "trino": TrinoResource(
            host=lakehouse_settings.trino_host,
            port=lakehouse_settings.trino_port,
            user=lakehouse_settings.trino_user,
            catalog=lakehouse_settings.catalog_name,
            source_schema=ns,
        ),
        "quarantine_thresholds": THRESHOLDS,
    }
    everything = [dbt_models, *quarantine_checks, *freshness_checks]

    silver_selection = build_dbt_asset_selection(
        [dbt_models], dbt_select="tag:silver"
    ) | AssetSelection.checks(*quarantine_checks, *freshness_checks)
    silver = materialize(
        everything,
        selection=silver_selection,
        resources=resources,
        raise_on_error=False,
    )
    assert silver.success
    materialized = {e.asset_key.to_user_string() for e in silver.get_asset_materialization_events()}
    assert {"silver/stg_charges", "silver/int_payment_events", "silver/currencies"} <= materialized
    assert trino_rows(f"SELECT count(*) FROM {ns}_silver.stg_charges") == [(10,)]
    before = evaluations(silver)
    assert before["quarantine_rate_payment_charges"] is True  # 2 of 12
    fresh = freshness(silver)
    assert fresh["payment_charges"][0] is True  # ingested just now
    assert fresh["payment_refunds"] == (False, AssetCheckSeverity.ERROR)  # nothing ever arrived
    assert before["not_null_stg_charges_customer_id"] is True  # a dbt test, as a check

    # A producer starts sending garbage: 30 quarantined charges within the hour.
    insert_rows(
        trino_rows, f"{ns}.quarantine_payment_charges", quarantined(30, "MISSING_CUSTOMER_ID")
    )
    checks_only = materialize(
        everything,
        selection=AssetSelection.checks(*quarantine_checks),
        resources=resources,
        raise_on_error=False,
    )
    after = evaluations(checks_only)
    assert after["quarantine_rate_payment_charges"] is False  # 32 > 20 rows, 76 % > 50 %
    assert after["quarantine_rate_payment_refunds"] is True
    failed = next(
        e
        for e in checks_only.get_asset_check_evaluations()
        if e.check_name == "quarantine_rate_payment_charges"
    )
    assert failed.metadata["quarantined"].value == 32
