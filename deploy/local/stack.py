"""The local platform: `python -m deploy.local.stack up|down|status|logs|clean`.

supervisord keeps the processes alive; this module prepares their state on first start,
starts them in dependency order, waits on real readiness checks, and reports.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from contracts.paths import SECRETS_DIR
from deploy.local.disk import disk_summary
from deploy.local.readiness import NotReady, port_open
from deploy.local.render import render_all
from deploy.local.secret_files import FILE_MODE, ensure_platform_secrets, write_private
from deploy.local.services import (
    Service,
    postgres_bin_dir,
    render_supervisord_conf,
    running_as_root,
    services,
)
from deploy.local.settings import StackSettings
from inference.settings import InferenceSettings
from lakehouse.clients import load_catalog
from lakehouse.settings import POSTGRES_SECRETS_FILE, LakehouseSettings
from lakehouse.tables import ensure_tables
from streaming.settings import KafkaSettings
from streaming.topics import ensure_topics
from workflows.settings import WorkflowSettings

# Started first and bootstrapped before anything that reads the catalog.
FIRST = "postgres"
# The Temporal dev server: its namespace's retention is set once it is ready.
TEMPORAL = "temporal"
# The project's own services need the topics, the tables and the scoring model first.
PROJECT_STAGE = 2
# Each `make up` appends how long it took here (in the log folder).
UP_LOG = "up.log"
# The catalog database's client authentication: every connection proves its password
# (scram-sha-256), over loopback TCP only (the server has no Unix socket). A cluster
# initialised before, with trust, is given this file at `make up`.
PG_HBA = """\
# Written by `make up` (deploy/local/stack.py): every connection needs its password.
local all all              scram-sha-256
host  all all 127.0.0.1/32 scram-sha-256
host  all all ::1/128      scram-sha-256
"""
# Rendered configuration that holds the catalog password: readable by its owner only.
SECRET_BEARING_CONF = ("trino/catalog/lakehouse.properties", "flink/init.sql")


def supervisor_conf(stack: StackSettings) -> Path:
    return stack.conf_dir / "supervisord.conf"


def supervisorctl_command(stack: StackSettings, *args: str) -> list[str]:
    """`supervisorctl` of the platform's supervisord (the app venv's, beside this Python)."""
    return [
        str(Path(sys.executable).parent / "supervisorctl"),
        "-c",
        str(supervisor_conf(stack)),
        *args,
    ]


def kafka_cluster_id() -> str:
    """A random KRaft cluster id (a UUID in URL-safe base64), never starting with '-':
    the storage tool would read such an id as an option (Kafka's own Uuid.randomUuid
    draws again for the same reason)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class StackError(RuntimeError):
    pass


def temporal_retention_command(stack: StackSettings, namespace: str) -> list[str]:
    """The Temporal CLI call that sets how long the namespace keeps closed workflows
    (`start-dev` has no flag for it; the dev server's database file keeps the setting
    across its restarts)."""
    return [
        str(stack.app_venv / "bin" / "temporal"),
        "operator",
        "namespace",
        "update",
        "--address",
        f"127.0.0.1:{stack.temporal_port}",
        "--namespace",
        namespace,
        "--retention",
        f"{stack.temporal_retention_hours}h",
        "--command-timeout",
        "30s",
    ]


def say(message: str) -> None:
    print(message, flush=True)


class Stack:
    def __init__(self, stack: StackSettings, lakehouse: LakehouseSettings) -> None:
        self.settings = stack
        self.lakehouse = lakehouse
        self.services = services(stack, lakehouse)
        self.supervisor_conf = supervisor_conf(stack)

    # -- supervisord -------------------------------------------------------------------

    def supervisorctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = supervisorctl_command(self.settings, *args)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        # supervisorctl exits non-zero whenever a program is not RUNNING; callers decide.
        if check and result.returncode not in (0, 3):
            raise StackError(
                f"supervisorctl {' '.join(args)} failed: {result.stdout}{result.stderr}"
            )
        return result

    def supervisord_running(self) -> bool:
        socket = self.settings.supervisor_socket
        return socket.exists() and self.supervisorctl("pid", check=False).stdout.strip().isdigit()

    def start_supervisord(self) -> None:
        if self.supervisord_running():
            return
        self.settings.supervisor_socket.unlink(missing_ok=True)
        supervisord = Path(sys.executable).parent / "supervisord"
        subprocess.run([str(supervisord), "-c", str(self.supervisor_conf)], check=True)
        deadline = time.monotonic() + 15
        while not self.supervisord_running():
            if time.monotonic() > deadline:
                raise StackError(
                    f"supervisord did not start; see {self.settings.log_dir / 'supervisord.log'}"
                )
            time.sleep(0.2)

    def program_states(self) -> dict[str, str]:
        if not self.supervisord_running():
            return {}
        states = {}
        for line in self.supervisorctl("status", check=False).stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2:
                states[parts[0]] = parts[1]
        return states

    # -- first-start preparation ---------------------------------------------------------

    def prepare_folders(self) -> None:
        run = self.settings.run_dir
        for folder in (
            self.settings.log_dir / "flink",
            run / "kafka" / "data",
            run / "trino" / "data",
            run / "temporal",
            self.settings.flink_checkpoints,
            self.settings.flink_savepoints,
            self.settings.flink_ha_storage,
            self.settings.zookeeper_data_dir,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        warehouse = self.lakehouse.warehouse_path
        if warehouse:
            warehouse.mkdir(parents=True, exist_ok=True)

    @property
    def postgres_data(self) -> Path:
        return self.settings.run_dir / "postgres" / "data"

    def superuser_password(self) -> str:
        if not self.settings.postgres_password:
            raise StackError(
                f"no password for the catalog database's superuser: {POSTGRES_SECRETS_FILE} "
                "is generated by `make up` (or set PAYSTREAM_POSTGRES_PASSWORD)"
            )
        return self.settings.postgres_password

    def prepare_postgres(self) -> None:
        """A new cluster whose superuser has the generated password (scram-sha-256)."""
        data = self.postgres_data
        if (data / "PG_VERSION").exists():
            return
        say("  initialising the catalog database cluster")
        data.mkdir(parents=True, exist_ok=True)
        password_file = data.parent / "superuser.pw"
        command = [
            str(postgres_bin_dir() / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            f"--pwfile={password_file}",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]
        if running_as_root():
            # PostgreSQL refuses to run as root: its files belong to the postgres user.
            shutil.chown(data.parent, "postgres")
            shutil.chown(data, "postgres")
            command = ["runuser", "-u", "postgres", "--", *command]
        write_private(password_file, self.superuser_password() + "\n")
        try:
            if running_as_root():
                shutil.chown(password_file, "postgres")
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        finally:
            password_file.unlink(missing_ok=True)
        if result.returncode != 0:
            raise StackError(f"initdb failed:\n{result.stdout}{result.stderr}")

    def prepare_kafka(self) -> None:
        data = self.settings.run_dir / "kafka" / "data"
        if (data / "meta.properties").exists():
            return
        say("  formatting Kafka's KRaft storage")
        cluster_id = kafka_cluster_id()
        java = next(s for s in self.services if s.name == "kafka").command[0]
        result = subprocess.run(
            [
                java,
                "-cp",
                self.settings.kafka_classpath,
                "-Dlog4j2.configurationFile="
                + str(self.settings.conf_dir / "kafka" / "log4j2.properties"),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(self.settings.conf_dir / "kafka" / "server.properties"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"Kafka storage format failed:\n{result.stdout}{result.stderr}")

    def connect_superuser(self) -> psycopg.Connection:
        lh = self.lakehouse
        try:
            return psycopg.connect(
                host=lh.catalog_db_host,
                port=lh.catalog_db_port,
                user="postgres",
                password=self.superuser_password(),
                dbname="postgres",
                autocommit=True,
            )
        except psycopg.OperationalError as exc:
            raise StackError(
                f"the catalog database refuses the superuser password of {POSTGRES_SECRETS_FILE}"
                f" ({exc}); `make clean` starts over with new data and secrets"
            ) from exc

    def require_passwords(self, conn: psycopg.Connection, switch: bool) -> None:
        """Upgrades a cluster initialised with trust in place: the roles get their
        generated passwords (hashed with scram-sha-256), then pg_hba.conf requires them
        and the server reloads it. Idempotent; a scram cluster keeps working as it did.
        Without `switch` (PostgreSQL was already running, and so may be its clients,
        which do not know the new passwords) the switch waits for the next start."""
        conn.execute("set password_encryption = 'scram-sha-256'")
        conn.execute(
            sql.SQL("alter role postgres password {}").format(
                sql.Literal(self.superuser_password())
            )
        )
        hba = self.postgres_data / "pg_hba.conf"
        if hba.read_text() == PG_HBA:
            return
        if not switch:
            say(
                "  catalog database still trusts every local client: it asks for passwords"
                " from the next start (`make down` then `make up`)"
            )
            return
        hba.write_text(PG_HBA)  # in place: the file keeps its owner (postgres) and mode
        conn.execute("select pg_reload_conf()")
        say("  catalog database: every connection now needs its password (scram-sha-256)")

    def bootstrap_catalog(self, switch_auth: bool = True) -> None:
        """Password authentication (`require_passwords`), then the catalog's role,
        database, JDBC tables (schema V1) and namespace."""
        lh = self.lakehouse
        if not lh.catalog_db_password:
            raise StackError(
                "no catalog database password: `make up` generates it into"
                f" {SECRETS_DIR / 'catalog.env'} (or set LAKEHOUSE_CATALOG_DB_PASSWORD)"
            )
        with self.connect_superuser() as conn:
            role = sql.Identifier(lh.catalog_db_user)
            password = sql.Literal(lh.catalog_db_password)
            conn.execute("set password_encryption = 'scram-sha-256'")
            if conn.execute(
                "select 1 from pg_roles where rolname = %s", (lh.catalog_db_user,)
            ).fetchone():
                # A role made before the passwords were generated gets its own now.
                conn.execute(sql.SQL("alter role {} password {}").format(role, password))
            else:
                conn.execute(sql.SQL("create role {} login password {}").format(role, password))
            self.require_passwords(conn, switch=switch_auth)
            if not conn.execute(
                "select 1 from pg_database where datname = %s", (lh.catalog_db_name,)
            ).fetchone():
                conn.execute(
                    sql.SQL("create database {} owner {}").format(
                        sql.Identifier(lh.catalog_db_name), sql.Identifier(lh.catalog_db_user)
                    )
                )
        catalog = load_catalog(lh)
        catalog.create_namespace_if_not_exists(lh.namespace)

    def prepare_project(self) -> None:
        ensure_topics(KafkaSettings(), report=lambda line: None)
        created = ensure_tables(load_catalog(self.lakehouse), self.lakehouse.namespace)
        if created:
            say(f"  created {len(created)} tables in {self.lakehouse.namespace}")
        if not InferenceSettings().model_path.exists():
            say("  training the scoring model (make train-model)")
            subprocess.run(
                [str(self.settings.app_venv / "bin" / "python"), "-m", "inference.train"],
                check=True,
                capture_output=True,
            )

    # -- lifecycle -----------------------------------------------------------------------

    def up(self) -> None:
        started = time.monotonic()
        say("Starting the local platform")
        self.prepare_folders()
        self.ensure_secrets()
        self.render()
        self.supervisor_conf.write_text(render_supervisord_conf(self.settings, self.services))
        self.prepare_postgres()
        self.prepare_kafka()
        self.start_supervisord()
        self.supervisorctl("update")
        # Clients of a PostgreSQL that is already up may not know the generated passwords.
        postgres_was_running = self.program_states().get(FIRST) == "RUNNING"

        started_now = 0
        for stage in sorted({s.stage for s in self.services}):
            if stage == PROJECT_STAGE:
                self.prepare_project()
            started_now += self.start_and_wait([s for s in self.services if s.stage == stage])
            if stage == self.service(FIRST).stage:
                self.bootstrap_catalog(switch_auth=not postgres_was_running)
            if stage == self.service(TEMPORAL).stage:
                self.set_temporal_retention()
        seconds = time.monotonic() - started
        say(f"Platform ready in {seconds:.0f}s\n")
        self.record_up(seconds, started_now)
        self.print_endpoints()

    def set_temporal_retention(self) -> None:
        """Sets the side stream's namespace retention (idempotent: an update to the same
        value changes nothing)."""
        namespace = WorkflowSettings().temporal_namespace
        command = temporal_retention_command(self.settings, namespace)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StackError(
                f"setting Temporal namespace {namespace}'s retention failed:\n"
                f"{result.stdout}{result.stderr}"
            )
        hours = self.settings.temporal_retention_hours
        say(f"  temporal namespace {namespace}: retention {hours}h")

    def ensure_secrets(self) -> None:
        """Generates the secrets missing from `.run/secrets`. Settings read before their
        file existed (a fresh clone's first `make up`) take the generated value now; a
        value given by the environment or by the caller is kept."""
        ensure_platform_secrets(gateway_port=self.settings.gateway_port)
        if not self.settings.postgres_password:
            password = StackSettings().postgres_password
            self.settings = self.settings.model_copy(update={"postgres_password": password})
        if not self.lakehouse.catalog_db_password:
            password = LakehouseSettings().catalog_db_password
            self.lakehouse = self.lakehouse.model_copy(update={"catalog_db_password": password})

    def render(self) -> None:
        render_all(self.settings, self.lakehouse)
        for name in SECRET_BEARING_CONF:
            (self.settings.conf_dir / name).chmod(FILE_MODE)

    def record_up(self, seconds: float, started: int) -> None:
        """Appends to `up.log` how long this `make up` took and how many services it had
        to start (all of them: a cold start), for the footprint benchmark."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = (
            f"Platform ready in {seconds:.0f}s (started {started} of {len(self.services)} services)"
        )
        with (self.settings.log_dir / UP_LOG).open("a") as log:
            log.write(f"{stamp} {line}\n")

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def start_and_wait(self, group: list[Service]) -> int:
        """Starts the group's stopped services, waits until all are ready; how many started."""
        states = self.program_states()
        to_start = [s.name for s in group if states.get(s.name) != "RUNNING"]
        if to_start:
            self.supervisorctl("start", *to_start, check=False)
        deadline = time.monotonic() + self.settings.ready_timeout_seconds
        pending = {s.name: s for s in group}
        last_reason: dict[str, str] = {}
        while pending:
            states = self.program_states()
            for name, service in list(pending.items()):
                if states.get(name) in ("FATAL", "BACKOFF", "EXITED"):
                    self.fail(service, f"process {states[name]}")
                try:
                    detail = service.ready(self.settings, self.lakehouse)
                except NotReady as exc:
                    last_reason[name] = str(exc)
                    continue
                say(f"  {name:<18} ready   {detail}")
                del pending[name]
            if pending and time.monotonic() > deadline:
                name = next(iter(pending))
                self.fail(
                    pending[name],
                    f"not ready after {self.settings.ready_timeout_seconds:.0f}s: "
                    f"{last_reason.get(name)}",
                )
            if pending:
                time.sleep(1)
        return len(to_start)

    def log_file(self, name: str) -> Path:
        return self.settings.log_dir / f"{name}.log"

    def fail(self, service: Service, reason: str) -> None:
        log = self.log_file(service.name)
        tail = ""
        if log.exists():
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise StackError(
            f"{service.name} failed: {reason}\n  log: {log}\n--- last lines ---\n{tail}"
        )

    def down(self) -> None:
        if not self.supervisord_running():
            say("Nothing is running.")
        else:
            say("Stopping the local platform")
            # Reverse order: clients of the catalog before the catalog's database.
            for service in reversed(self.services):
                self.supervisorctl("stop", service.name, check=False)
                say(f"  {service.name:<18} stopped")
            self.supervisorctl("shutdown", check=False)
            deadline = time.monotonic() + 30
            while self.settings.supervisor_socket.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
        busy = [port for port in self.ports() if port_open("127.0.0.1", port, timeout=0.3)]
        if busy:
            raise StackError(f"ports still listening after down: {busy}")

    def ports(self) -> list[int]:
        s, lh = self.settings, self.lakehouse
        return [
            lh.catalog_db_port,
            s.kafka_port,
            s.kafka_controller_port,
            s.flink_rest_port,
            s.flink_rpc_port,
            lh.trino_port,
            s.temporal_port,
            s.temporal_ui_port,
            *(service.port for service in self.services if service.port is not None),
        ]

    def status(self) -> bool:
        states = self.program_states()
        all_ready = True
        for service in self.services:
            state = states.get(service.name, "STOPPED")
            try:
                detail = service.ready(self.settings, self.lakehouse) if state == "RUNNING" else ""
                health = "ready" if state == "RUNNING" else "-"
            except NotReady as exc:
                detail, health = str(exc), "NOT READY"
            if health != "ready":
                all_ready = False
            say(f"  {service.name:<18} {state:<9} {health:<9} {detail}")
        if states:
            say("")
            self.print_endpoints()
        return all_ready

    def print_endpoints(self) -> None:
        for service in self.services:
            say(f"  {service.name:<18} {service.endpoint}")
        say(f"  {'warehouse':<18} {self.lakehouse.warehouse}")
        say(f"  {'logs':<18} {self.settings.log_dir}  (make logs SERVICE=<name>)")
        say(f"  {'disk used':<18} {disk_summary(self.settings.run_dir)} in {self.settings.run_dir}")

    def logs(self, name: str | None, follow: bool) -> None:
        names = [name] if name else [s.name for s in self.services]
        files = [str(self.log_file(n)) for n in names if self.log_file(n).exists()]
        if not files:
            raise StackError(f"no logs yet in {self.settings.log_dir}")
        os.execvp("tail", ["tail", "-n", "50", *(["-F"] if follow else []), *files])

    def clean(self) -> None:
        self.down()
        if self.settings.run_dir.exists():
            shutil.rmtree(self.settings.run_dir)
        # With a PAYSTREAM_RUN_DIR elsewhere, the checkout's secrets are still its own.
        shutil.rmtree(SECRETS_DIR, ignore_errors=True)
        say(f"Removed {self.settings.run_dir} (data and generated secrets)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start every service and wait until each is ready")
    sub.add_parser("down", help="stop every service; nothing left running or listening")
    sub.add_parser("status", help="state and readiness of every service")
    logs = sub.add_parser("logs", help="show service logs")
    logs.add_argument("service", nargs="?", help="one service (default: all)")
    logs.add_argument("--follow", "-f", action="store_true")
    sub.add_parser("clean", help="stop everything and delete all local data")
    sub.add_parser("render", help="write the configuration files only")
    args = parser.parse_args(argv)

    stack = Stack(StackSettings(), LakehouseSettings())
    try:
        if args.command == "up":
            stack.up()
        elif args.command == "down":
            stack.down()
        elif args.command == "status":
            return 0 if stack.status() else 1
        elif args.command == "logs":
            stack.logs(args.service, args.follow)
        elif args.command == "clean":
            stack.clean()
        elif args.command == "render":
            stack.ensure_secrets()
            stack.render()
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
