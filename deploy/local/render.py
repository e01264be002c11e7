"""Renders the committed templates into the run folder's configuration."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from contracts.paths import SQL_DIR
from deploy.local import prometheus
from deploy.local.settings import StackSettings
from flink_jobs.sql_template import render_sql
from lakehouse.settings import LakehouseSettings
from observability.thresholds import AlertThresholds

TEMPLATES = Path(__file__).resolve().parent / "templates"


def flink_distribution_java_opts(stack: StackSettings) -> str:
    """The JVM flags Flink's own default configuration sets, so ours keeps them."""
    default = yaml.safe_load((stack.flink_home / "conf" / "config.yaml").read_text())
    return str(default["env"]["java"]["opts"]["all"])


def template_values(stack: StackSettings, lakehouse: LakehouseSettings) -> dict[str, str]:
    values = {k: str(v) for k, v in stack.model_dump().items()}
    values |= {k: str(v) for k, v in lakehouse.model_dump().items()}
    values |= {
        "jdbc_uri": lakehouse.jdbc_uri,
        "kafka_data_dir": str(stack.run_dir / "kafka" / "data"),
        "trino_data_dir": str(stack.run_dir / "trino" / "data"),
        "flink_checkpoints_uri": stack.flink_checkpoints.as_uri(),
        "flink_savepoints_uri": stack.flink_savepoints.as_uri(),
        "flink_ha_storage_uri": stack.flink_ha_storage.as_uri(),
        "zookeeper_data_dir": str(stack.zookeeper_data_dir),
        "flink_python": str(stack.flink_venv / "bin" / "python"),
        "flink_java_opts": flink_distribution_java_opts(stack),
    }
    return values


def render_template(source: Path, target: Path, values: dict[str, str]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_sql(source.read_text(), values))


def flink_config(stack: StackSettings, values: dict[str, str]) -> str:
    """Flink's config.yaml, with the HA section when HA is on (its keys are new to it) and
    the metrics reporter when there is a Pushgateway to push to."""
    parts = [TEMPLATES / "flink-config.yaml"]
    if stack.flink_ha:
        parts.append(TEMPLATES / "flink-ha.yaml")
    if stack.pushgateway_port:
        parts.append(TEMPLATES / "flink-metrics.yaml")
    return "\n".join(render_sql(part.read_text(), values) for part in parts)


def write_prometheus_config(stack: StackSettings, lakehouse: LakehouseSettings) -> None:
    folder = stack.conf_dir / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    config = prometheus.prometheus_config(stack, lakehouse)
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    rules = prometheus.rules_file(AlertThresholds())
    (folder / prometheus.RULES_FILE).write_text(yaml.safe_dump(rules, sort_keys=False))


def render_all(stack: StackSettings, lakehouse: LakehouseSettings) -> None:
    """Writes every service's configuration under `<run>/conf`."""
    values = template_values(stack, lakehouse)
    conf = stack.conf_dir
    outputs = {
        TEMPLATES / "kafka.properties": conf / "kafka" / "server.properties",
        TEMPLATES / "kafka-log4j2.properties": conf / "kafka" / "log4j2.properties",
        TEMPLATES / "kafka-jmx-exporter.yml": conf / "kafka" / "jmx-exporter.yml",
        SQL_DIR / "init_catalog.sql": conf / "flink" / "init.sql",
        TEMPLATES / "zookeeper.cfg": conf / "zookeeper" / "zoo.cfg",
        TEMPLATES / "zookeeper-log4j2.properties": conf / "zookeeper" / "log4j2.properties",
        TEMPLATES / "trino-config.properties": conf / "trino" / "config.properties",
        TEMPLATES / "trino-node.properties": conf / "trino" / "node.properties",
        TEMPLATES / "trino-jvm.config": conf / "trino" / "jvm.config",
        TEMPLATES / "trino-log.properties": conf / "trino" / "log.properties",
        TEMPLATES / "trino-lakehouse.properties": conf
        / "trino"
        / "catalog"
        / "lakehouse.properties",
    }
    for source, target in outputs.items():
        render_template(source, target, values)
    write_prometheus_config(stack, lakehouse)
    (conf / "flink").mkdir(parents=True, exist_ok=True)
    (conf / "flink" / "config.yaml").write_text(flink_config(stack, values))
    # Flink's scripts read their log4j files from the configuration folder as well.
    for name in ("log4j-console.properties", "log4j-cli.properties", "log4j.properties"):
        shutil.copyfile(stack.flink_home / "conf" / name, conf / "flink" / name)
