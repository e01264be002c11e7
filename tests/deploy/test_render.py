"""The rendered configuration of every service: complete, on loopback, in the run folder."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
import yaml

from deploy.local.render import render_all
from deploy.local.services import render_supervisord_conf, services
from deploy.local.settings import StackSettings
from lakehouse.settings import LakehouseSettings


@pytest.fixture
def stack(tmp_path: Path) -> StackSettings:
    return StackSettings(run_dir=tmp_path / "run", flink_ha=True)


@pytest.fixture
def rendered(stack: StackSettings) -> Path:
    render_all(stack, LakehouseSettings(warehouse=(stack.run_dir / "wh").as_uri()))
    return stack.conf_dir


def properties(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def test_no_placeholder_is_left_unfilled(rendered: Path):
    # Flink's own log4j files are copied as they are: their ${sys:...} are log4j's.
    files = [
        p
        for p in rendered.rglob("*")
        if p.is_file() and not (p.parent.name == "flink" and p.name.startswith("log4j"))
    ]
    assert len(files) >= 9
    for path in files:
        assert "${" not in path.read_text(), path


def test_kafka_is_a_single_kraft_node_on_loopback_that_allows_transactions(
    rendered: Path, stack: StackSettings
):
    kafka = properties(rendered / "kafka" / "server.properties")
    assert kafka["process.roles"] == "broker,controller"
    assert (
        kafka["listeners"]
        == f"PLAINTEXT://127.0.0.1:{stack.kafka_port},CONTROLLER://127.0.0.1:{stack.kafka_controller_port}"
    )
    assert kafka["transaction.state.log.replication.factor"] == "1"
    assert kafka["transaction.state.log.min.isr"] == "1"
    assert kafka["offsets.topic.replication.factor"] == "1"
    assert kafka["log.dirs"].startswith(str(stack.run_dir))


def test_flink_cluster_has_slots_memory_and_state_folders_under_the_run_folder(
    rendered: Path, stack: StackSettings
):
    config = yaml.safe_load((rendered / "flink" / "config.yaml").read_text())
    assert config["taskmanager"]["numberOfTaskSlots"] >= 4
    # A job's slots spread over every TaskManager (the scale-out benchmark adds a second).
    assert config["taskmanager"]["load-balance"]["mode"] == "SLOTS"
    assert config["rest"]["bind-address"] == "127.0.0.1"
    assert config["jobmanager"]["memory"]["process"]["size"] == stack.flink_jobmanager_memory
    assert config["taskmanager"]["memory"]["process"]["size"] == stack.flink_taskmanager_memory
    checkpointing = config["execution"]["checkpointing"]
    assert checkpointing["dir"] == stack.flink_checkpoints.as_uri()
    assert checkpointing["savepoint-dir"] == stack.flink_savepoints.as_uri()
    assert "--add-opens=java.base/java.nio=ALL-UNNAMED" in config["env"]["java"]["opts"]["all"]


def test_trino_serves_the_lakehouse_catalog_on_loopback(rendered: Path):
    node = properties(rendered / "trino" / "node.properties")
    assert node["node.bind-ip"] == "127.0.0.1"
    catalog = properties(rendered / "trino" / "catalog" / "lakehouse.properties")
    assert catalog["connector.name"] == "iceberg"
    assert catalog["iceberg.catalog.type"] == "jdbc"
    assert catalog["iceberg.jdbc-catalog.catalog-name"] == "lakehouse"
    assert "-Xmx" in (rendered / "trino" / "jvm.config").read_text()


def test_flink_sql_init_registers_the_same_catalog(rendered: Path):
    init = (rendered / "flink" / "init.sql").read_text()
    lakehouse = LakehouseSettings()
    assert "CREATE CATALOG lakehouse" in init
    assert f"'uri' = '{lakehouse.jdbc_uri}'" in init
    assert "'jdbc.schema-version' = 'V1'" in init


def test_supervisord_starts_nothing_by_itself_and_stops_whole_process_groups(stack: StackSettings):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(render_supervisord_conf(stack, services(stack, LakehouseSettings())))
    programs = [s for s in parser.sections() if s.startswith("program:")]
    assert {p.removeprefix("program:") for p in programs} == {
        "postgres",
        "zookeeper",
        "kafka",
        "flink-jobmanager",
        "flink-taskmanager",
        "trino",
        "temporal",
        "inference",
        "gateway",
        "worker",
        "bridge",
        "pushgateway",
        "prometheus",
        "exporter",
        "console",
    }
    for program in programs:
        section = parser[program]
        assert section["autostart"] == "false"
        assert section["stopasgroup"] == "true" and section["killasgroup"] == "true"
        assert section["stdout_logfile"].startswith(str(stack.log_dir))


def test_every_jvm_has_its_memory_set(stack: StackSettings):
    by_name = {s.name: s for s in services(stack, LakehouseSettings())}
    assert f"-Xmx{stack.kafka_heap}" in by_name["kafka"].command


def test_project_services_start_after_the_infrastructure_they_use(stack: StackSettings):
    by_name = {s.name: s for s in services(stack, LakehouseSettings())}
    assert by_name["postgres"].stage < by_name["kafka"].stage
    infrastructure = ("kafka", "flink-jobmanager", "trino", "temporal")
    for name in ("inference", "gateway", "worker", "bridge", "exporter", "console"):
        assert all(by_name[name].stage > by_name[i].stage for i in infrastructure), name
    assert by_name["gateway"].port == stack.gateway_port


def test_every_process_exports_its_metrics_on_loopback(rendered: Path, stack: StackSettings):
    by_name = {s.name: s for s in services(stack, LakehouseSettings())}
    config = yaml.safe_load((rendered / "flink" / "config.yaml").read_text())
    push = config["metrics"]["reporter"]["promgateway"]
    assert push["hostUrl"] == f"http://127.0.0.1:{stack.pushgateway_port}"
    assert push["randomJobNameSuffix"] is False
    # Each Flink process pushes under its own name, so a restart replaces its series.
    for name in ("flink-jobmanager", "flink-taskmanager"):
        assert f"metrics.reporter.promgateway.jobName={name}" in by_name[name].command
    agent = next(a for a in by_name["kafka"].command if a.startswith("-javaagent:"))
    assert f"=127.0.0.1:{stack.kafka_metrics_port}:" in agent
    assert (rendered / "kafka" / "jmx-exporter.yml").is_file()
    temporal = by_name["temporal"].command
    assert temporal[temporal.index("--metrics-port") + 1] == str(stack.temporal_metrics_port)
    prometheus = " ".join(by_name["prometheus"].command)
    assert f"--web.listen-address=127.0.0.1:{stack.prometheus_port}" in prometheus
    assert f"--storage.tsdb.retention.size={stack.prometheus_retention_size}" in prometheus
    scrape = yaml.safe_load((rendered / "prometheus" / "prometheus.yml").read_text())
    assert (rendered / "prometheus" / scrape["rule_files"][0]).is_file()


def test_a_metrics_port_of_0_turns_that_endpoint_off(tmp_path: Path):
    # What a test's private broker, dev server or Flink cluster uses: none of them may take
    # the platform's metrics ports or push over the platform's Flink series.
    stack = StackSettings(
        run_dir=tmp_path / "run", kafka_metrics_port=0, temporal_metrics_port=0, pushgateway_port=0
    )
    render_all(stack, LakehouseSettings(warehouse=(stack.run_dir / "wh").as_uri()))
    by_name = {s.name: s for s in services(stack, LakehouseSettings())}
    assert not any(a.startswith("-javaagent:") for a in by_name["kafka"].command)
    assert "--metrics-port" not in by_name["temporal"].command
    config = yaml.safe_load((stack.conf_dir / "flink" / "config.yaml").read_text())
    assert "metrics" not in config
