"""Where the shared Iceberg catalog and Trino live, from the environment (prefix LAKEHOUSE_).

The defaults are the local platform's development values (deploy/local): the catalog
database is a project-local PostgreSQL and the warehouse a folder of the checkout. The
catalog role's password has no committed value: `make up` generates it into
`.run/secrets/catalog.env`, which these settings read (the environment wins).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.tables import CATALOG, NAMESPACE

REPO_ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = REPO_ROOT / ".run"
# The secrets `make up` generates (deploy/local/secret_files.py); ignored by git, mode 0600.
SECRETS_DIR = RUN_DIR / "secrets"
CATALOG_SECRETS_FILE = SECRETS_DIR / "catalog.env"
POSTGRES_SECRETS_FILE = SECRETS_DIR / "postgres.env"
# The catalog password this repository once committed: it is public, so never accepted.
COMMITTED_CATALOG_PASSWORDS = frozenset({"lakehouse-dev"})


class LakehouseSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LAKEHOUSE_", env_file=CATALOG_SECRETS_FILE, frozen=True
    )

    catalog_name: str = CATALOG
    namespace: str = NAMESPACE

    catalog_db_host: str = "127.0.0.1"
    catalog_db_port: int = 5433
    catalog_db_name: str = "iceberg_catalog"
    catalog_db_user: str = "lakehouse"
    # Empty until `make up` has generated it: the database then refuses the connection.
    catalog_db_password: str = Field(default="", repr=False)

    warehouse: str = Field(default=(RUN_DIR / "warehouse").as_uri())

    trino_host: str = "127.0.0.1"
    trino_port: int = 8080
    trino_user: str = "trino"

    @field_validator("catalog_db_password")
    @classmethod
    def _not_a_committed_password(cls, value: str) -> str:
        if value in COMMITTED_CATALOG_PASSWORDS:
            raise ValueError(
                "LAKEHOUSE_CATALOG_DB_PASSWORD is a password committed to the repository; "
                "unset it (`make up` generates one into .run/secrets/catalog.env)"
            )
        return value

    @property
    def sqlalchemy_uri(self) -> str:
        password = quote(self.catalog_db_password, safe="")
        return (
            f"postgresql+psycopg2://{self.catalog_db_user}:{password}"
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
