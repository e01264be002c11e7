"""The operator's toolbox without a platform: options, the commands it builds, and the
refusals for a topic outside the contract or a service that is not supervised."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from contracts.paths import DBT_PROJECT_DIR
from contracts.topics import ENRICHED, NORMALIZED, STRIPE_RAW, TOPIC_NAMES
from deploy.local import toolbox
from deploy.local.toolbox import ToolboxError
from flink_jobs.registry import JOBS
from lakehouse.settings import LakehouseSettings
from observability.kafka_offsets import PartitionLag
from streaming.settings import KafkaSettings

SERVICES = ["postgres", "kafka", "flink-jobmanager", "gateway"]


@pytest.fixture(autouse=True)
def kcat(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(toolbox.shutil, "which", lambda name: f"/usr/bin/{name}")
    return "/usr/bin/kcat"


@pytest.fixture
def kafka() -> KafkaSettings:
    return KafkaSettings(bootstrap_servers="127.0.0.1:19092")


@pytest.fixture
def lakehouse() -> LakehouseSettings:
    return LakehouseSettings(catalog_db_password="s3cret-Password-1234", _env_file=None)


def test_topics_list_asks_kcat_for_the_metadata(kafka: KafkaSettings) -> None:
    assert toolbox.topics_list_command(kafka).argv == [
        "/usr/bin/kcat",
        "-b",
        "127.0.0.1:19092",
        "-L",
    ]


def test_topics_describe_names_the_topic(kafka: KafkaSettings) -> None:
    argv = toolbox.topics_describe_command(kafka, NORMALIZED).argv
    assert argv[-3:] == ["-L", "-t", NORMALIZED]


@pytest.mark.parametrize("topic", TOPIC_NAMES)
def test_every_contract_topic_is_accepted(kafka: KafkaSettings, topic: str) -> None:
    assert toolbox.produce_command(kafka, topic).argv[-3:] == ["-P", "-t", topic]


@pytest.mark.parametrize("topic", ["payments.nope", f"x.{NORMALIZED}", "", None])
def test_a_topic_outside_the_contract_is_refused_with_the_choices(
    kafka: KafkaSettings, topic: str | None
) -> None:
    with pytest.raises(ToolboxError) as refused:
        toolbox.consume_command(kafka, topic, 1)  # type: ignore[arg-type]
    assert NORMALIZED in str(refused.value) and ENRICHED in str(refused.value)


def test_consume_reads_n_messages_from_the_beginning_and_exits(kafka: KafkaSettings) -> None:
    argv = toolbox.consume_command(kafka, STRIPE_RAW, 3).argv
    assert argv[argv.index("-t") + 1] == STRIPE_RAW
    assert argv[argv.index("-c") + 1] == "3"
    assert argv[argv.index("-o") + 1] == "beginning"
    assert "-e" in argv and "-C" in argv


def test_consume_refuses_a_count_below_one(kafka: KafkaSettings) -> None:
    with pytest.raises(ToolboxError, match="N= must be at least 1"):
        toolbox.consume_command(kafka, STRIPE_RAW, 0)


def test_a_missing_kcat_says_how_to_install_it(
    kafka: KafkaSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(toolbox.shutil, "which", lambda name: None)
    with pytest.raises(ToolboxError, match="make setup"):
        toolbox.topics_list_command(kafka)


def test_restart_goes_through_supervisorctl_of_the_stack(stack_settings) -> None:
    argv = toolbox.restart_command(stack_settings, "kafka", SERVICES).argv
    assert argv == [
        str(Path(sys.executable).parent / "supervisorctl"),
        "-c",
        str(stack_settings.conf_dir / "supervisord.conf"),
        "restart",
        "kafka",
    ]


@pytest.mark.parametrize("service", ["all", "nginx", "", None])
def test_a_service_that_is_not_supervised_is_refused(stack_settings, service: str | None) -> None:
    with pytest.raises(ToolboxError) as refused:
        toolbox.restart_command(stack_settings, service, SERVICES)  # type: ignore[arg-type]
    assert "flink-jobmanager" in str(refused.value)


def test_psql_connects_as_the_catalog_owner_with_the_password_in_the_environment(
    lakehouse: LakehouseSettings,
) -> None:
    command = toolbox.psql_command(lakehouse, ["-c", "select 1"])
    assert command.argv[1:] == [
        "-h",
        lakehouse.catalog_db_host,
        "-p",
        str(lakehouse.catalog_db_port),
        "-U",
        lakehouse.catalog_db_user,
        "-d",
        lakehouse.catalog_db_name,
        "-c",
        "select 1",
    ]
    assert command.env is not None and command.env["PGPASSWORD"] == lakehouse.catalog_db_password
    assert lakehouse.catalog_db_password not in " ".join(command.argv)


def test_psql_without_a_generated_password_says_so() -> None:
    no_password = LakehouseSettings.model_construct(catalog_db_password="")
    with pytest.raises(ToolboxError, match="make up"):
        toolbox.psql_command(no_password, [])


def test_psql_passes_every_later_argument_through() -> None:
    args = toolbox.parse(["psql", "-c", "select 1", "--csv"])
    assert args.command == "psql" and args.psql_args == ["-c", "select 1", "--csv"]


def test_dbt_docs_generates_then_serves_on_loopback(stack_settings) -> None:
    generate, serve = toolbox.dbt_docs_commands(stack_settings, 8123)
    assert generate.argv[1:3] == ["docs", "generate"]
    assert serve.argv[1:3] == ["docs", "serve"]
    assert serve.argv[serve.argv.index("--host") + 1] == "127.0.0.1"
    assert serve.argv[serve.argv.index("--port") + 1] == "8123"
    assert {generate.cwd, serve.cwd} == {DBT_PROJECT_DIR}


def test_freshness_is_dbt_source_freshness_in_the_project(stack_settings) -> None:
    command = toolbox.freshness_command(stack_settings)
    assert command.argv[0] == str(stack_settings.app_venv / "bin" / "dbt")
    assert command.argv[1:3] == ["source", "freshness"]
    assert command.cwd == DBT_PROJECT_DIR


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["topics-describe", "--topic", NORMALIZED], "topics-describe"),
        (["consume", "--topic", NORMALIZED, "-n", "5"], "consume"),
        (["restart", "--service", "kafka"], "restart"),
        (["dbt-docs", "--port", "9000"], "dbt-docs"),
    ],
)
def test_the_options_of_each_command(argv: list[str], command: str) -> None:
    assert toolbox.parse(argv).command == command


def test_an_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit):
        toolbox.parse(["drop-everything"])


def test_main_reports_a_refusal_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert toolbox.main(["consume", "--topic", "payments.nope"]) == 2
    assert "not a topic of the contract" in capsys.readouterr().err


def test_the_flink_groups_are_those_of_the_registered_jobs() -> None:
    groups = toolbox.flink_consumer_groups()
    assert set(groups.values()) <= {job.name for job in JOBS}
    assert len(groups) == len(set(groups)) >= 2


def test_lag_marks_flink_groups_and_the_ones_without_offsets() -> None:
    rows = [
        PartitionLag("g-flink", NORMALIZED, 0, 90, 100),
        PartitionLag("g-other", NORMALIZED, 1, -1001, 7),
    ]
    text = toolbox.render_lag(rows, {"g-flink": "job-a", "g-missing": "job-b"})
    flink_line = next(line for line in text.splitlines() if line.startswith("g-flink"))
    assert "job-a" in flink_line and flink_line.split()[-1] == "10"
    other_line = next(line for line in text.splitlines() if line.startswith("g-other"))
    assert other_line.split()[-1] == "-"
    assert "g-missing (Flink job job-b): no committed offsets" in text
