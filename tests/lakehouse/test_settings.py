from __future__ import annotations

from contracts.paths import REPO_ROOT
from lakehouse.settings import LakehouseSettings


def test_defaults_point_at_the_local_platform():
    settings = LakehouseSettings()
    assert settings.catalog_name == "lakehouse"
    assert settings.namespace == "payments_db"
    assert settings.warehouse == (REPO_ROOT / ".run" / "warehouse").as_uri()
    assert settings.warehouse_path == REPO_ROOT / ".run" / "warehouse"


def test_environment_overrides_every_coordinate(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_CATALOG_DB_PORT", "6543")
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE", "s3://bucket/warehouse")
    settings = LakehouseSettings()
    assert settings.jdbc_uri.endswith(":6543/iceberg_catalog")
    assert settings.sqlalchemy_uri.startswith("postgresql+psycopg2://lakehouse:")
    assert settings.warehouse_path is None
