"""The operator's toolbox on the running platform (`make up`, `make submit`). Read-only:
nothing is produced, no service is restarted, no group commits an offset."""

from __future__ import annotations

import subprocess
import sys

import pytest

from contracts.paths import REPO_ROOT
from contracts.topics import NORMALIZED, TOPIC_NAMES
from deploy.local.readiness import NotReady, kafka_ready
from deploy.local.toolbox import flink_consumer_groups

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def toolbox(stack_settings, lakehouse_settings):
    try:
        kafka_ready(stack_settings, lakehouse_settings)
    except NotReady as exc:
        pytest.fail(f"Kafka is not running ({exc}): use `make test-integration`")

    def run(*args: str, timeout: float = 60) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "deploy.local.toolbox", *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"toolbox {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    return run


def test_topics_list_shows_every_contract_topic(toolbox) -> None:
    listed = toolbox("topics-list")
    for topic in TOPIC_NAMES:
        assert f'topic "{topic}"' in listed


def test_topics_describe_shows_partitions_and_configs(toolbox) -> None:
    described = toolbox("topics-describe", "--topic", NORMALIZED)
    assert f'topic "{NORMALIZED}"' in described
    assert "partition 0, leader" in described
    assert "retention.ms=" in described


def test_consume_one_message_of_a_topic_with_data(toolbox) -> None:
    lines = toolbox("consume", "--topic", NORMALIZED, "-n", "1").splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{NORMALIZED}[")
    assert '"event_id"' in lines[0]


def test_lag_lists_the_flink_jobs_groups(toolbox) -> None:
    lag = toolbox("lag")
    assert lag.splitlines()[0].split()[:2] == ["GROUP", "FLINK"]
    for group, job in flink_consumer_groups().items():
        assert any(line.split()[:2] == [group, job] for line in lag.splitlines()), group


def test_savepoints_names_every_job(toolbox, stack_settings) -> None:
    from flink_jobs.registry import JOBS

    report = toolbox("savepoints")
    assert str(stack_settings.flink_savepoints) in report
    for job in JOBS:
        assert f"{job.name}: " in report


def test_psql_runs_a_query_on_the_catalog_database(toolbox) -> None:
    out = toolbox("psql", "-At", "-c", "select 1")
    assert out.strip() == "1"
