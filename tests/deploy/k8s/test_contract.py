"""The manifests say what the contract and the local platform say: topics, tables, job
settings, service ports, health endpoints and environment variable names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from contracts.tables import CATALOG, NAMESPACE, table_definitions
from contracts.topics import TOPICS, max_message_bytes
from deploy.flink.runner import render_submission
from deploy.k8s import generate, validate
from flink_jobs.registry import JOBS
from gateway.routers import ops as gateway_ops
from gateway.settings import GatewaySettings
from inference.routers import ops as inference_ops
from inference.settings import InferenceSettings
from streaming.settings import KafkaSettings, TopicSettings
from workflows.settings import WorkflowSettings

Manifest = validate.Manifest
K8S_DIR = Path(generate.__file__).resolve().parent
TOPIC_DEFAULTS = TopicSettings.model_construct()


@pytest.fixture(scope="module")
def base() -> list[Manifest]:
    return validate.render("prod")


def of_kind(objects: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_one_kafka_topic_per_contract_topic(base: list[Manifest]) -> None:
    topics = {t["spec"]["topicName"]: t for t in of_kind(base, "KafkaTopic").values()}
    assert sorted(topics) == sorted(topic.name for topic in TOPICS)
    for topic in TOPICS:
        spec = topics[topic.name]["spec"]
        assert spec["partitions"] == TOPIC_DEFAULTS.partitions, topic.name
        assert spec["config"]["retention.ms"] == TOPIC_DEFAULTS.retention_ms, topic.name
        assert spec["config"].get("max.message.bytes") == max_message_bytes(topic.name)
        annotations = topics[topic.name]["metadata"]["annotations"]
        assert annotations["paystream.io/key"] == topic.key, topic.name


def test_the_broker_takes_the_largest_contract_record(base: list[Manifest]) -> None:
    (kafka,) = of_kind(base, "Kafka").values()
    largest = max(topic.max_message_bytes or 0 for topic in TOPICS)
    assert kafka["spec"]["kafka"]["config"]["message.max.bytes"] >= largest
    assert kafka["spec"]["kafka"]["config"]["replica.fetch.max.bytes"] >= largest
    assert kafka["metadata"]["name"] == generate.KAFKA_CLUSTER


def test_every_job_runs_the_script_the_local_submitter_runs(base: list[Manifest]) -> None:
    deployments = of_kind(base, "FlinkDeployment")
    config_maps = of_kind(base, "ConfigMap")
    assert sorted(deployments) == sorted(job.name for job in JOBS)
    settings = generate.job_settings()
    for job in JOBS:
        script = render_submission(job, settings, restore_from=None)
        assert config_maps[f"{job.name}-sql"]["data"]["job.sql"] == script
        spec = deployments[job.name]["spec"]
        declared = generate.script_settings(script)
        assert declared["pipeline.name"] == job.name
        for key, value in declared.items():
            assert spec["flinkConfiguration"][key] == value, (job.name, key)
        assert spec["job"]["parallelism"] == int(declared["parallelism.default"])
        assert spec["job"]["upgradeMode"] == "savepoint"
        assert spec["flinkConfiguration"]["high-availability.type"] == "kubernetes"
        for key in (
            "state.checkpoints.dir",
            "state.savepoints.dir",
            "high-availability.storageDir",
        ):
            assert spec["flinkConfiguration"][key].startswith("s3://"), (job.name, key)
        assert settings.kafka_bootstrap_servers in script


def test_the_jobs_read_only_topics_the_cluster_creates(base: list[Manifest]) -> None:
    created = {t["spec"]["topicName"] for t in of_kind(base, "KafkaTopic").values()}
    scripts = [cm["data"].get("job.sql", "") for cm in of_kind(base, "ConfigMap").values()]
    read = {name for s in scripts for name in re.findall(r"'topic'\s*=\s*'([^']+)'", s)}
    assert read, "no Kafka table found in the job scripts"
    assert read <= created


def test_every_contract_table_is_written_in_the_shared_catalog(base: list[Manifest]) -> None:
    scripts = "".join(cm["data"].get("job.sql", "") for cm in of_kind(base, "ConfigMap").values())
    for name, _, _ in table_definitions():
        assert f"`{CATALOG}`.`{NAMESPACE}`.`{name}`" in scripts, name
    init = of_kind(base, "ConfigMap")[f"{JOBS[0].name}-sql"]["data"]["init.sql"]
    assert f"CREATE CATALOG {CATALOG} " in init
    assert f"{CATALOG}.{NAMESPACE}" in init


def test_trino_has_the_shared_catalog_on_the_rest_catalog() -> None:
    values = yaml.safe_load((K8S_DIR / "helm" / "trino-values.yaml").read_text())
    assert list(values["catalogs"]) == [CATALOG]
    properties = dict(
        line.split("=", 1) for line in values["catalogs"][CATALOG].splitlines() if line
    )
    assert properties["connector.name"] == "iceberg"
    assert properties["iceberg.catalog.type"] == "rest"
    assert properties["iceberg.rest-catalog.uri"] == generate.POLARIS_URI


def test_temporal_persists_in_postgresql() -> None:
    values = yaml.safe_load((K8S_DIR / "helm" / "temporal-values.yaml").read_text())
    persistence = values["server"]["config"]["persistence"]
    for store in ("default", "visibility"):
        assert persistence[store]["driver"] == "sql"
        assert persistence[store]["sql"]["driver"].startswith("postgres")
    assert not values["cassandra"]["enabled"]


def routes(router) -> set[str]:
    """The paths of a service's operations router (included without a prefix)."""
    return {route.path for route in router.routes}


def container(objects: list[Manifest], name: str) -> Manifest:
    (only,) = of_kind(objects, "Deployment")[name]["spec"]["template"]["spec"]["containers"]
    return only


def test_probes_hit_the_services_own_health_endpoints(base: list[Manifest]) -> None:
    gateway = container(base, "gateway")
    gateway_routes = routes(gateway_ops.router)
    assert gateway["livenessProbe"]["httpGet"]["path"] in gateway_routes
    assert "/metrics" in gateway_routes
    assert gateway["readinessProbe"]["httpGet"]["path"] in gateway_routes
    assert gateway["ports"][0]["containerPort"] == GatewaySettings.model_fields["port"].default
    inference = container(base, "inference")
    assert inference["livenessProbe"]["httpGet"]["path"] in routes(inference_ops.router)
    assert inference["ports"][0]["containerPort"] == InferenceSettings.model_fields["port"].default
    worker_env = {e["name"]: e["value"] for e in container(base, "worker")["env"]}
    metrics_port = worker_env[generate.env_name(WorkflowSettings, "metrics_port")]
    assert metrics_port in " ".join(container(base, "worker")["livenessProbe"]["exec"]["command"])


def test_metrics_are_annotated_on_a_served_path(base: list[Manifest]) -> None:
    for name in ("gateway", "inference"):
        pod = of_kind(base, "Deployment")[name]["spec"]["template"]["metadata"]
        assert pod["annotations"]["prometheus.io/scrape"] == "true"
        assert pod["annotations"]["prometheus.io/path"] == "/metrics"


SERVICE_SETTINGS = (GatewaySettings, InferenceSettings, WorkflowSettings)


def settings_env_names() -> set[str]:
    names = {generate.env_name(KafkaSettings, "bootstrap_servers")}
    for settings in SERVICE_SETTINGS:
        names |= {generate.env_name(settings, field) for field in settings.model_fields}
    return names


def test_every_service_variable_is_one_its_settings_read(base: list[Manifest]) -> None:
    known = settings_env_names()
    for name in ("gateway", "inference", "worker", "bridge"):
        for variable in container(base, name)["env"]:
            assert variable["name"] in known, (name, variable["name"])
    for secret in validate.load(validate.SECRET_TEMPLATES):
        if secret["metadata"]["name"] in ("gateway", "workflows"):
            assert set(secret["stringData"]) <= known, secret["metadata"]["name"]


def test_the_secrets_the_services_read_have_templates(base: list[Manifest]) -> None:
    templates = {s["metadata"]["name"] for s in validate.load(validate.SECRET_TEMPLATES)}
    for obj in base:
        text = yaml.safe_dump(obj)
        for name in re.findall(r"secretRef:\n\s+name: (\S+)", text):
            assert name in templates, (obj["metadata"]["name"], name)
