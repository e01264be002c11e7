"""Settings of the local platform (env prefix PAYSTREAM_): folders, ports and memory.

Catalog and Trino coordinates come from `lakehouse.settings` so that every engine and the
Python code agree on them; everything else the processes need is here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.paths import REPO_ROOT, RUN_DIR, cache_dir
from lakehouse.settings import POSTGRES_SECRETS_FILE


class StackSettings(BaseSettings):
    # The env file holds the generated superuser password (deploy/local/secret_files.py).
    model_config = SettingsConfigDict(
        env_prefix="PAYSTREAM_", env_file=POSTGRES_SECRETS_FILE, frozen=True
    )

    repo_root: Path = REPO_ROOT
    run_dir: Path = RUN_DIR
    # The same variable deploy/local/setup.sh installs into.
    cache_dir: Path = Field(default_factory=cache_dir, validation_alias="PAYSTREAM_CACHE")
    trino_version: str = "476"
    # The version deploy/local/jvm/pom.xml resolves.
    jmx_exporter_version: str = "1.0.1"

    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    flink_rest_port: int = 8081
    flink_rpc_port: int = 6123
    # ZooKeeper keeps Flink's leader and the pointers to its jobs and checkpoints (HA).
    zookeeper_port: int = 2181
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    gateway_port: int = 8000
    inference_port: int = 8001
    # Prometheus and what it scrapes, every one on 127.0.0.1.
    prometheus_port: int = 9090
    # Flink pushes its metrics here (its scrape endpoint would listen on every interface).
    # 0 turns Flink's reporter off, as 0 does Kafka's and Temporal's metrics endpoints: a
    # test's private broker, dev server or cluster must not take or overwrite the platform's.
    pushgateway_port: int = 9091
    kafka_metrics_port: int = 9404
    worker_metrics_port: int = 9464
    bridge_metrics_port: int = 9465
    temporal_metrics_port: int = 9466
    exporter_port: int = 9467
    console_port: int = 8090
    prometheus_scrape_seconds: int = Field(default=5, ge=1)
    # Prometheus keeps this much history (whichever bound is met first).
    prometheus_retention_time: str = "3d"
    prometheus_retention_size: str = "1GB"
    # Flink's ZooKeeper HA services: a JobManager that dies comes back (supervisord) and
    # recovers its jobs from their latest checkpoint by itself. Off: the JobManager forgets
    # its jobs when it dies, and `make submit` resumes them.
    flink_ha: bool = True
    # ZooKeeper expires the session of a JobManager killed with -9 after this long; only
    # then can the restarted one take over the leadership, so it bounds the recovery time.
    flink_ha_session_timeout_ms: int = 10_000

    # Recovery workflows wait real retry delays (hours to days) times this factor; locally
    # a day becomes about 1.5 minutes so a demo shows retries (WORKFLOWS_RECOVERY_DELAY_SCALE).
    recovery_delay_scale: float = 0.001

    # Memory is set for every JVM so the whole stack stays near 8 GiB.
    kafka_heap: str = "768m"
    zookeeper_heap: str = "128m"
    flink_jobmanager_memory: str = "1280m"
    flink_taskmanager_memory: str = "3072m"
    flink_taskmanager_slots: int = 4
    trino_heap: str = "2G"
    trino_query_memory: str = "1GB"

    ready_timeout_seconds: float = 180.0

    # How long Temporal keeps a closed workflow of the side stream's namespace (`make up`
    # sets it once the dev server is ready); Temporal takes no less than a day.
    temporal_retention_hours: int = Field(default=72, ge=24)

    # The catalog database's superuser `postgres` (scram-sha-256); `make up` generates it.
    postgres_password: str = Field(default="", repr=False)

    @property
    def conf_dir(self) -> Path:
        return self.run_dir / "conf"

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def flink_venv(self) -> Path:
        return self.repo_root / ".venv-flink"

    @property
    def app_venv(self) -> Path:
        return self.repo_root / ".venv"

    @property
    def flink_home(self) -> Path:
        """The Flink distribution shipped inside the PyFlink wheel."""
        found = sorted(self.flink_venv.glob("lib/python3*/site-packages/pyflink"))
        if not found:
            raise FileNotFoundError(
                f"PyFlink is not installed in {self.flink_venv}: run `make setup`"
            )
        return found[-1]

    @property
    def trino_home(self) -> Path:
        return self.cache_dir / f"trino-server-{self.trino_version}"

    @property
    def trino_cli(self) -> Path:
        return self.cache_dir / "jvm" / "trino" / f"trino-cli-{self.trino_version}-executable.jar"

    @property
    def jmx_exporter_jar(self) -> Path:
        """Prometheus's JMX exporter agent for Kafka (deploy/local/jvm/pom.xml, `make setup`)."""
        name = f"jmx_prometheus_javaagent-{self.jmx_exporter_version}.jar"
        return self.cache_dir / "jvm" / "prometheus" / name

    @property
    def kafka_classpath(self) -> str:
        return str(self.cache_dir / "jvm" / "kafka" / "*")

    @property
    def zookeeper_classpath(self) -> str:
        return str(self.cache_dir / "jvm" / "zookeeper" / "*")

    @property
    def zookeeper_data_dir(self) -> Path:
        return self.run_dir / "zookeeper"

    @property
    def flink_ha_storage(self) -> Path:
        """Flink's HA storage: job graphs, blobs and checkpoint metadata of HA'd jobs."""
        return self.run_dir / "flink" / "ha"

    @property
    def flink_checkpoints(self) -> Path:
        return self.run_dir / "flink" / "checkpoints"

    @property
    def flink_savepoints(self) -> Path:
        return self.run_dir / "flink" / "savepoints"

    @property
    def supervisor_socket(self) -> Path:
        # Unix socket paths are limited to ~107 bytes; a deep checkout falls back to /tmp.
        socket = self.run_dir / "supervisor.sock"
        if len(str(socket)) < 100:
            return socket
        return Path("/tmp") / f"paystream-{abs(hash(str(self.run_dir)))}.sock"
