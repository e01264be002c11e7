"""Where things are: the checkout, its ignored run folder, and the user-level download cache."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Runtime state of the local platform (data, logs, secrets); ignored by git.
RUN_DIR = REPO_ROOT / ".run"
# The secrets `make up` generates (deploy/local/secret_files.py); mode 0600.
SECRETS_DIR = RUN_DIR / "secrets"
SQL_DIR = REPO_ROOT / "sql"
JR_TEMPLATES_DIR = REPO_ROOT / "jr_templates"
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
# The Maven module of the Flink jobs' own SQL functions (deploy/local/setup.sh builds it).
UDF_PROJECT_DIR = REPO_ROOT / "flink_jobs" / "udf"
UDF_JAR_NAME = "paystream-flink-udf-1.jar"


def cache_dir() -> Path:
    """Large downloads (JVM artifacts, Trino, JR, vegeta), kept out of the checkout so a fresh
    clone reuses them: $PAYSTREAM_CACHE, else $XDG_CACHE_HOME/paystream (deploy/local/setup.sh
    reads the same two variables)."""
    cache = os.environ.get("PAYSTREAM_CACHE")
    if cache:
        return Path(cache)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "paystream"


def udf_jar() -> Path:
    """The jobs' SQL functions (flink_jobs/udf), as `make setup` builds them into the cache."""
    return cache_dir() / "jvm" / "udf" / UDF_JAR_NAME
