"""Where the shared Iceberg catalog and Trino live, from the environment (prefix LAKEHOUSE_).

The defaults are the local platform's development values (deploy/local): the catalog
database is a project-local PostgreSQL and the warehouse a folder of the checkout.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = REPO_ROOT / ".run"


class LakehouseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAKEHOUSE_", frozen=True)

    catalog_name: str = "lakehouse"
    namespace: str = "payments_db"

    catalog_db_host: str = "127.0.0.1"
    catalog_db_port: int = 5433
    catalog_db_name: str = "iceberg_catalog"
    catalog_db_user: str = "lakehouse"
    catalog_db_password: str = "lakehouse-dev"

    warehouse: str = Field(default=(RUN_DIR / "warehouse").as_uri())

    trino_host: str = "127.0.0.1"
    trino_port: int = 8080
    trino_user: str = "trino"

    @property
    def sqlalchemy_uri(self) -> str:
        return (
            f"postgresql+psycopg2://{self.catalog_db_user}:{self.catalog_db_password}"
            f"@{self.catalog_db_host}:{self.catalog_db_port}/{self.catalog_db_name}"
        )

    @property
    def jdbc_uri(self) -> str:
        return f"jdbc:postgresql://{self.catalog_db_host}:{self.catalog_db_port}/{self.catalog_db_name}"

    @property
    def warehouse_path(self) -> Path | None:
        """The warehouse as a local path, when it is a file:// warehouse."""
        if self.warehouse.startswith("file://"):
            return Path(self.warehouse.removeprefix("file://"))
        return None
