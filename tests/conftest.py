"""Fixtures for tests on the running local platform (`make test-integration` starts it).

Shared by every `tests/<area>/` folder; nothing here touches a service until a test asks.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator

import pytest
from pyiceberg.catalog.sql import SqlCatalog

from deploy.flink.flink_rest import FlinkRest
from deploy.flink.policy import Submitter, SubmitterSettings
from deploy.flink.restore import SubmissionLedger
from deploy.local.clients import flink_sql_command
from deploy.local.readiness import NotReady, flink_ready, trino_ready
from deploy.local.settings import StackSettings
from flink_jobs.job import JobSettings
from lakehouse import clients
from lakehouse.clients import load_catalog
from lakehouse.settings import LakehouseSettings


@pytest.fixture(scope="session")
def stack_settings() -> StackSettings:
    return StackSettings()


@pytest.fixture(scope="session")
def lakehouse_settings(stack_settings: StackSettings) -> LakehouseSettings:
    settings = LakehouseSettings()
    try:
        flink_ready(stack_settings, settings)
        trino_ready(stack_settings, settings)
    except NotReady as exc:
        pytest.fail(f"the local platform is not running ({exc}): use `make test-integration`")
    return settings


@pytest.fixture(scope="session")
def catalog(lakehouse_settings: LakehouseSettings) -> SqlCatalog:
    return load_catalog(lakehouse_settings)


@pytest.fixture
def namespace(catalog: SqlCatalog) -> Iterator[str]:
    """A namespace of the test's own, dropped with its tables afterwards."""
    name = f"it_{uuid.uuid4().hex[:10]}"
    catalog.create_namespace(name)
    yield name
    for identifier in catalog.list_tables(name):
        catalog.purge_table(identifier)
    catalog.drop_namespace(name)


@pytest.fixture
def trino_rows(lakehouse_settings: LakehouseSettings):
    def query(sql: str) -> list[tuple]:
        return clients.trino_rows(lakehouse_settings, sql)

    return query


@pytest.fixture
def flink_sql(stack_settings: StackSettings):
    """Runs statements through `sql-client.sh -i init.sql -f <file>` on the standalone cluster."""

    def run(statements: str, timeout: float = 240) -> str:
        with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
            script.write(statements)
            script.flush()
            command, env = flink_sql_command(stack_settings, ["-f", script.name])
            result = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        output = result.stdout + result.stderr
        assert result.returncode == 0 and "[ERROR]" not in output, output
        return output

    return run


@pytest.fixture
def submitter(
    stack_settings: StackSettings, lakehouse_settings: LakehouseSettings, tmp_path
) -> Iterator[Submitter]:
    """A submitter with 2 s checkpoints whose submissions stay out of the platform's ledger."""
    flink = FlinkRest(f"http://127.0.0.1:{stack_settings.flink_rest_port}")
    submitter = Submitter(
        stack_settings,
        lakehouse_settings,
        JobSettings(checkpoint_interval="2s"),
        SubmitterSettings(running_timeout_seconds=120),
        flink,
        say=lambda message: print(message, flush=True),
    )
    submitter.ledger = SubmissionLedger(tmp_path / "submissions.json")
    yield submitter
    flink.close()


@pytest.fixture
def forget_jobs(submitter: Submitter) -> Iterator[Callable[[str], None]]:
    """Register a job name: afterwards its jobs are cancelled and their state removed."""
    names: list[str] = []
    yield names.append
    for name in names:
        submitter.cancel(name)
        shutil.rmtree(submitter.state_dirs.savepoints_of(name), ignore_errors=True)
        for job_id in submitter.ledger.job_ids(name):
            shutil.rmtree(submitter.state_dirs.checkpoints / job_id, ignore_errors=True)
        (submitter.jobs_dir / f"{name}.sql").unlink(missing_ok=True)
        (submitter.jobs_dir / f"{name}.lock").unlink(missing_ok=True)
