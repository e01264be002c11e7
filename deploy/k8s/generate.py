"""Writes the generated part of the Kubernetes base (`deploy/k8s/base/generated/`).

`python -m deploy.k8s.generate` renders, from the definitions the local platform uses:

- one Strimzi `KafkaTopic` per contract topic (`contracts.topics`), with the partitions and
  retention `make topics` creates it with (`streaming.settings.TopicSettings`) and its
  record size limit;
- one `FlinkDeployment` and one `ConfigMap` per registered Flink job
  (`flink_jobs.registry`): the script is `deploy.flink.runner.render_submission`'s, the
  one `make sql` prints and `make submit` runs, and the Flink settings are read back from
  its own `SET` statements, so the two can never disagree;
- the catalog init script for the Iceberg REST catalog (Polaris), named `contracts.tables`;
- the Deployment, Service, PodDisruptionBudget and HorizontalPodAutoscaler of each Python
  service, with its environment variable names taken from its settings class.

`--check` writes nothing and exits 1 when the committed files differ from a fresh
generation (the unit tests run the same comparison).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic_settings import BaseSettings

from contracts.paths import UDF_JAR_NAME
from contracts.tables import CATALOG, NAMESPACE
from contracts.topics import TOPICS, max_message_bytes
from deploy.flink.runner import render_submission
from flink_jobs.ddl import literal
from flink_jobs.job import DEFAULT_CHECKPOINT_INTERVAL, JobSettings, SqlJob
from flink_jobs.registry import JOBS
from gateway.settings import GatewaySettings
from inference.settings import InferenceSettings
from streaming.settings import KafkaSettings, TopicSettings
from workflows.settings import WorkflowSettings

K8S_DIR = Path(__file__).resolve().parent
BASE_DIR = K8S_DIR / "base"
GENERATED_DIR = BASE_DIR / "generated"

# The Strimzi `Kafka` of base/kafka.yaml; Strimzi names its bootstrap Service after it.
KAFKA_CLUSTER = "paystream"
KAFKA_BOOTSTRAP = f"{KAFKA_CLUSTER}-kafka-bootstrap:9092"
# Base topics are sized for the prod cluster (three brokers); overlays/dev lowers replicas.
TOPIC_REPLICAS = 3
TOPIC_MIN_INSYNC_REPLICAS = 2

# The Polaris Service of base/polaris.yaml and the S3 bucket everything shares.
POLARIS_URI = "http://polaris:8181/api/catalog"
WAREHOUSE_BUCKET = "s3://paystream-lakehouse"
FLINK_STATE_URI = "s3://paystream-flink"

# The Flink image: the Flink distribution plus the jars the local stack puts on its class
# path (deploy/local/setup.sh) and Flink's SQL runner; built by whoever runs the cluster.
FLINK_IMAGE = "paystream/flink-sql:2.1.3"
# Flink Kubernetes Operator 1.10.0 (the release whose CRDs are validated here) knows Flink
# versions up to 1.20; the local stack runs Flink 2.1, which operator >= 1.13 names `v2_1`.
FLINK_VERSION = "v1_20"
SQL_RUNNER_JAR = "local:///opt/flink/usrlib/sql-runner.jar"
SQL_MOUNT = "/opt/flink/usrlib/sql"
# The jobs' SQL functions (flink_jobs/udf), built into the paystream/flink-sql image.
UDF_JAR = f"/opt/flink/usrlib/{UDF_JAR_NAME}"
APP_IMAGE = "paystream/app:latest"
PROMETHEUS_REPORTER = "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"
FLINK_METRICS_PORT = 9249

SET_STATEMENT = re.compile(r"^SET\s+'((?:[^']|'')+)'\s*=\s*'((?:[^']|'')*)'\s*;", re.M | re.I)


def env_name(settings: type[BaseSettings], field: str) -> str:
    """The environment variable a settings field is read from."""
    if field not in settings.model_fields:
        raise KeyError(f"{settings.__name__} has no field {field!r}")
    return f"{settings.model_config.get('env_prefix', '')}{field}".upper()


def kafka_topics(settings: TopicSettings) -> list[dict[str, Any]]:
    topics = []
    for topic in TOPICS:
        config: dict[str, Any] = {
            "retention.ms": settings.retention_ms,
            "cleanup.policy": "delete",
            "min.insync.replicas": TOPIC_MIN_INSYNC_REPLICAS,
        }
        limit = max_message_bytes(topic.name)
        if limit is not None:
            config["max.message.bytes"] = limit
        topics.append(
            {
                "apiVersion": "kafka.strimzi.io/v1",
                "kind": "KafkaTopic",
                "metadata": {
                    "name": topic.name.replace("_", "-"),
                    "labels": {"strimzi.io/cluster": KAFKA_CLUSTER},
                    "annotations": {
                        "paystream.io/key": topic.key,
                        "paystream.io/value": topic.value,
                    },
                },
                "spec": {
                    "topicName": topic.name,
                    "partitions": settings.partitions,
                    "replicas": TOPIC_REPLICAS,
                    "config": config,
                },
            }
        )
    return topics


def job_settings() -> JobSettings:
    return JobSettings(
        kafka_bootstrap_servers=KAFKA_BOOTSTRAP,
        checkpoint_interval=DEFAULT_CHECKPOINT_INTERVAL,
        parallelism=1,
        udf_jar=UDF_JAR,
    )


def script_settings(script: str) -> dict[str, str]:
    """The `SET 'key' = 'value';` statements of a script, in order."""
    return {
        key.replace("''", "'"): value.replace("''", "'")
        for key, value in SET_STATEMENT.findall(script)
    }


def catalog_init_sql() -> str:
    """Registers the shared catalog on the REST catalog; the jobs run after it."""
    return (
        "-- Generated by deploy/k8s/generate.py: the shared Iceberg catalog on Polaris.\n"
        f"CREATE CATALOG {CATALOG} WITH (\n"
        "  'type' = 'iceberg',\n"
        "  'catalog-type' = 'rest',\n"
        f"  'uri' = {literal(POLARIS_URI)},\n"
        f"  'warehouse' = {literal(CATALOG)},\n"
        "  'io-impl' = 'org.apache.iceberg.aws.s3.S3FileIO',\n"
        "  'header.X-Iceberg-Access-Delegation' = 'vended-credentials'\n"
        ");\n"
        f"CREATE DATABASE IF NOT EXISTS {CATALOG}.{NAMESPACE};\n"
    )


def flink_deployment(job: SqlJob, settings: JobSettings) -> list[dict[str, Any]]:
    script = render_submission(job, settings, restore_from=None)
    declared = script_settings(script)
    config_map = f"{job.name}-sql"
    flink_configuration = {
        **declared,
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.dir": f"{FLINK_STATE_URI}/checkpoints/{job.name}",
        "execution.checkpointing.savepoint-dir": f"{FLINK_STATE_URI}/savepoints/{job.name}",
        "state.checkpoints.dir": f"{FLINK_STATE_URI}/checkpoints/{job.name}",
        "state.savepoints.dir": f"{FLINK_STATE_URI}/savepoints/{job.name}",
        "high-availability.type": "kubernetes",
        "high-availability.storageDir": f"{FLINK_STATE_URI}/ha/{job.name}",
        "kubernetes.operator.savepoint.history.max.count": "5",
        "kubernetes.operator.periodic.savepoint.interval": "1h",
        "taskmanager.numberOfTaskSlots": "2",
        "metrics.reporter.prom.factory.class": PROMETHEUS_REPORTER,
        "metrics.reporter.prom.port": str(FLINK_METRICS_PORT),
    }
    volume = {"name": "sql", "configMap": {"name": config_map}}
    mount = {"name": "sql", "mountPath": SQL_MOUNT, "readOnly": True}
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": config_map, "labels": {"app.kubernetes.io/name": job.name}},
            "data": {"init.sql": catalog_init_sql(), "job.sql": script},
        },
        {
            "apiVersion": "flink.apache.org/v1beta1",
            "kind": "FlinkDeployment",
            "metadata": {
                "name": job.name,
                "labels": {"app.kubernetes.io/name": job.name},
                "annotations": {"paystream.io/description": job.description},
            },
            "spec": {
                "image": FLINK_IMAGE,
                "flinkVersion": FLINK_VERSION,
                "mode": "native",
                "serviceAccount": "flink",
                "flinkConfiguration": flink_configuration,
                "podTemplate": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "annotations": {
                            "prometheus.io/scrape": "true",
                            "prometheus.io/port": str(FLINK_METRICS_PORT),
                        }
                    },
                    "spec": {
                        "containers": [
                            {
                                "name": "flink-main-container",
                                "envFrom": [{"secretRef": {"name": "flink-s3"}}],
                                "volumeMounts": [mount],
                            }
                        ],
                        "volumes": [volume],
                    },
                },
                "jobManager": {"replicas": 1, "resource": {"memory": "2048m", "cpu": 1}},
                "taskManager": {"replicas": 1, "resource": {"memory": "4096m", "cpu": 2}},
                "job": {
                    "jarURI": SQL_RUNNER_JAR,
                    "args": ["-i", f"{SQL_MOUNT}/init.sql", "-f", f"{SQL_MOUNT}/job.sql"],
                    "parallelism": settings.parallelism,
                    "upgradeMode": "savepoint",
                    "state": "running",
                },
            },
        },
    ]


@dataclass(frozen=True)
class Service:
    """One Python service as a Deployment: its command, port and what probes it."""

    name: str
    command: list[str]
    port: int | None
    env: dict[str, str]
    secrets: tuple[str, ...]
    liveness: dict[str, Any] | None
    readiness: dict[str, Any] | None
    metrics_path: str = "/metrics"
    cpu: str = "250m"
    memory: str = "512Mi"


def http_probe(path: str, port: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": 10,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    }


def loopback_probe(port: int, path: str) -> dict[str, Any]:
    """For an endpoint the service binds to 127.0.0.1 only: kubelet cannot reach it."""
    url = f"http://127.0.0.1:{port}{path}"
    return {
        "exec": {
            "command": ["python", "-c", f"import urllib.request; urllib.request.urlopen({url!r})"]
        },
        "periodSeconds": 15,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }


WORKER_METRICS_PORT = 9464
BRIDGE_METRICS_PORT = 9465


def services() -> tuple[Service, ...]:
    gateway_port = GatewaySettings.model_fields["port"].default
    inference_port = InferenceSettings.model_fields["port"].default
    kafka = env_name(KafkaSettings, "bootstrap_servers")
    return (
        Service(
            "gateway",
            ["python", "-m", "gateway"],
            gateway_port,
            {
                env_name(GatewaySettings, "host"): "0.0.0.0",
                env_name(GatewaySettings, "port"): str(gateway_port),
                env_name(GatewaySettings, "metrics_dir"): "/tmp/gateway-metrics",
                kafka: KAFKA_BOOTSTRAP,
            },
            ("gateway",),
            http_probe("/health", gateway_port),
            http_probe("/ready", gateway_port),
        ),
        Service(
            "inference",
            ["python", "-m", "inference"],
            inference_port,
            {
                env_name(InferenceSettings, "host"): "0.0.0.0",
                env_name(InferenceSettings, "port"): str(inference_port),
            },
            (),
            http_probe("/health", inference_port),
            http_probe("/health", inference_port),
            memory="1Gi",
        ),
        Service(
            "worker",
            ["python", "-m", "workflows.worker"],
            None,
            {
                env_name(WorkflowSettings, "temporal_address"): "temporal-frontend:7233",
                env_name(WorkflowSettings, "inference_url"): f"http://inference:{inference_port}",
                env_name(WorkflowSettings, "metrics_port"): str(WORKER_METRICS_PORT),
                kafka: KAFKA_BOOTSTRAP,
            },
            ("workflows",),
            loopback_probe(WORKER_METRICS_PORT, "/metrics"),
            None,
        ),
        Service(
            "bridge",
            ["python", "-m", "workflows.bridge"],
            None,
            {
                env_name(WorkflowSettings, "temporal_address"): "temporal-frontend:7233",
                env_name(WorkflowSettings, "bridge_metrics_port"): str(BRIDGE_METRICS_PORT),
                kafka: KAFKA_BOOTSTRAP,
            },
            ("workflows",),
            loopback_probe(BRIDGE_METRICS_PORT, "/metrics"),
            None,
        ),
    )


def service_objects(service: Service) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": service.name, "app.kubernetes.io/part-of": "paystream"}
    annotations = {}
    if service.port is not None:
        annotations = {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(service.port),
            "prometheus.io/path": service.metrics_path,
        }
    container: dict[str, Any] = {
        "name": service.name,
        "image": APP_IMAGE,
        "command": service.command,
        "env": [{"name": key, "value": value} for key, value in sorted(service.env.items())],
        "envFrom": [{"secretRef": {"name": secret}} for secret in service.secrets],
        "resources": {
            "requests": {"cpu": service.cpu, "memory": service.memory},
            "limits": {"cpu": "1", "memory": service.memory},
        },
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True},
    }
    if service.port is not None:
        container["ports"] = [{"name": "http", "containerPort": service.port}]
    if service.liveness is not None:
        container["livenessProbe"] = service.liveness
    if service.readiness is not None:
        container["readinessProbe"] = service.readiness
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": service.name, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/name": service.name}},
                "template": {
                    "metadata": {"labels": labels, "annotations": annotations},
                    "spec": {"containers": [container]},
                },
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": service.name, "labels": labels},
            "spec": {
                "maxUnavailable": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/name": service.name}},
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": service.name, "labels": labels},
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": service.name,
                },
                "minReplicas": 1,
                "maxReplicas": 4,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
            },
        },
    ]
    if service.port is not None:
        objects.insert(
            1,
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": service.name, "labels": labels},
                "spec": {
                    "selector": {"app.kubernetes.io/name": service.name},
                    "ports": [{"name": "http", "port": service.port, "targetPort": "http"}],
                },
            },
        )
    return objects


def dump(objects: Iterable[dict[str, Any]]) -> str:
    header = "# Generated by `python -m deploy.k8s.generate`; do not edit.\n"
    return header + "---\n".join(
        yaml.safe_dump(obj, sort_keys=False, width=100, allow_unicode=True) for obj in objects
    )


def generated_files() -> dict[str, str]:
    """Every generated file, by its name under base/generated/."""
    # Defaults, not the environment: the manifests are the same wherever they are generated.
    files = {"kafka-topics.yaml": dump(kafka_topics(TopicSettings.model_construct()))}
    settings = job_settings()
    for job in JOBS:
        files[f"flink-{job.name}.yaml"] = dump(flink_deployment(job, settings))
    for service in services():
        files[f"app-{service.name}.yaml"] = dump(service_objects(service))
    files["kustomization.yaml"] = dump(
        [
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": sorted(name for name in files),
            }
        ]
    )
    return files


def stale_files(directory: Path = GENERATED_DIR) -> list[str]:
    """Generated files that differ from, are missing from or are extra to `directory`."""
    fresh = generated_files()
    committed = {path.name: path.read_text() for path in directory.glob("*.yaml")}
    return sorted(
        name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name)
    )


def write(directory: Path = GENERATED_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    fresh = generated_files()
    for old in directory.glob("*.yaml"):
        if old.name not in fresh:
            old.unlink()
    written = []
    for name, text in fresh.items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        if stale:
            print(f"stale: {', '.join(stale)}; run `python -m deploy.k8s.generate`")
            return 1
        return 0
    for path in write():
        print(path.relative_to(K8S_DIR))
    return 0


if __name__ == "__main__":
    sys.exit(main())
