"""The operator's toolbox on the running local platform (`make up`).

Usage: `python -m deploy.local.toolbox <command> [options]`, one command per make target:

  topics-list                     the brokers and every topic with its partitions (kcat -L)
  topics-describe --topic T       one contract topic: partitions, leaders, replicas, configs
  consume --topic T [-n N]        the first N messages of a contract topic, then exit (kcat -C)
  produce --topic T               stdin, one message a line, into a contract topic (kcat -P)
  lag                             every consumer group's lag per partition; Flink jobs marked
  savepoints                      each Flink job's savepoints and retained checkpoints on disk
  restart --service S             restart one supervised service (supervisorctl restart)
  psql [args]                     psql on the catalog database as its owner role
  dbt-docs [--port P]             dbt docs generate, then serve on 127.0.0.1
  freshness                       dbt source freshness
  open --ui prometheus|console    the UI's address once it answers, opened in a browser if any

Kafka is reached with kcat (Debian's package, `make setup`); consumer lag needs the group
offsets, which kcat cannot read, so `lag` uses the librdkafka admin API the project's
clients already use. Only topics of the contract and services of the platform are accepted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.paths import DBT_PROJECT_DIR
from contracts.topics import TOPIC_NAMES
from deploy.local.settings import StackSettings
from deploy.local.stack import supervisorctl_command
from lakehouse.settings import LakehouseSettings
from observability.kafka_offsets import KafkaOffsets, PartitionLag
from streaming.settings import KafkaSettings

DBT_DOCS_PORT = 8085
KAFKA_TIMEOUT_SECONDS = 10.0


class ToolboxError(RuntimeError):
    """A request the toolbox refuses, with what to do instead."""


@dataclass(frozen=True)
class Command:
    argv: list[str]
    env: dict[str, str] | None = None
    cwd: Path | None = None


# -- checks ------------------------------------------------------------------------------


def contract_topic(name: str | None) -> str:
    if not name:
        raise ToolboxError(f"TOPIC= is required; the contract's topics: {', '.join(TOPIC_NAMES)}")
    if name not in TOPIC_NAMES:
        raise ToolboxError(
            f"{name!r} is not a topic of the contract; choose one of: {', '.join(TOPIC_NAMES)}"
        )
    return name


def supervised_service(name: str | None, names: Sequence[str]) -> str:
    if not name:
        raise ToolboxError(f"SERVICE= is required; the supervised services: {', '.join(names)}")
    if name not in names:
        raise ToolboxError(
            f"{name!r} is not a supervised service; choose one of: {', '.join(names)}"
        )
    return name


def kcat_binary() -> str:
    found = shutil.which("kcat")
    if not found:
        raise ToolboxError("kcat is not installed: run `make setup` (Debian package kcat)")
    return found


# -- the commands, built without running them ---------------------------------------------


def kcat_command(kafka: KafkaSettings, *args: str) -> Command:
    return Command([kcat_binary(), "-b", kafka.bootstrap_servers, *args])


def topics_list_command(kafka: KafkaSettings) -> Command:
    return kcat_command(kafka, "-L")


def topics_describe_command(kafka: KafkaSettings, topic: str) -> Command:
    return kcat_command(kafka, "-L", "-t", contract_topic(topic))


def consume_command(kafka: KafkaSettings, topic: str, count: int) -> Command:
    if count < 1:
        raise ToolboxError(f"N= must be at least 1, not {count}")
    # From the beginning, N messages at most, exit at the end of the partitions; the key,
    # partition and offset before each value.
    return kcat_command(
        kafka,
        "-C",
        "-t",
        contract_topic(topic),
        "-o",
        "beginning",
        "-c",
        str(count),
        "-e",
        "-q",
        "-f",
        "%t[%p]@%o key=%k: %s\n",
    )


def produce_command(kafka: KafkaSettings, topic: str) -> Command:
    return kcat_command(kafka, "-P", "-t", contract_topic(topic))


def restart_command(stack: StackSettings, service: str, names: Sequence[str]) -> Command:
    return Command(supervisorctl_command(stack, "restart", supervised_service(service, names)))


def psql_command(lakehouse: LakehouseSettings, args: Sequence[str]) -> Command:
    if not lakehouse.catalog_db_password:
        raise ToolboxError(
            "no password for the catalog database: `make up` generates it into .run/secrets"
        )
    argv = [
        shutil.which("psql") or "psql",
        "-h",
        lakehouse.catalog_db_host,
        "-p",
        str(lakehouse.catalog_db_port),
        "-U",
        lakehouse.catalog_db_user,
        "-d",
        lakehouse.catalog_db_name,
        *args,
    ]
    # The password goes through the environment, never the command line (ps shows that).
    return Command(argv, env=os.environ | {"PGPASSWORD": lakehouse.catalog_db_password})


def dbt_commands(stack: StackSettings, *args: str) -> Command:
    dbt = str(stack.app_venv / "bin" / "dbt")
    return Command([dbt, *args, "--profiles-dir", "."], cwd=DBT_PROJECT_DIR)


def dbt_docs_commands(stack: StackSettings, port: int) -> list[Command]:
    return [
        dbt_commands(stack, "docs", "generate"),
        dbt_commands(
            stack, "docs", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-browser"
        ),
    ]


def freshness_command(stack: StackSettings) -> Command:
    return dbt_commands(stack, "source", "freshness")


# -- lag and savepoints (read the platform directly) -------------------------------------


def flink_consumer_groups() -> dict[str, str]:
    """Job name by consumer group, for each Flink job that reads Kafka: its source commits
    the offsets to that group on every checkpoint."""
    from flink_jobs.enrichment_job import CONSUMER_GROUP as ENRICHMENT_GROUP
    from flink_jobs.enrichment_job import ENRICHMENT_JOB
    from flink_jobs.validation_job import CONSUMER_GROUP as VALIDATION_GROUP
    from flink_jobs.validation_job import VALIDATION_JOB
    from normalization.settings import NormalizationSettings

    normalization = NormalizationSettings()
    return {
        VALIDATION_GROUP: VALIDATION_JOB.name,
        normalization.group_id: normalization.job_name,
        ENRICHMENT_GROUP: ENRICHMENT_JOB.name,
    }


def consumer_lag(kafka: KafkaSettings) -> list[PartitionLag]:
    offsets = KafkaOffsets(kafka.bootstrap_servers, "paystream-toolbox-lag")
    try:
        return offsets.group_lag()
    finally:
        offsets.close()


LAG_HEADER = ("GROUP", "FLINK JOB", "TOPIC", "PART", "COMMITTED", "END", "LAG")


def render_lag(rows: Sequence[PartitionLag], flink_groups: dict[str, str]) -> str:
    """One line per group and partition; a Flink job's group names its job, and a Flink
    group without committed offsets (job never checkpointed) is said so."""
    table = [LAG_HEADER]
    for row in rows:
        committed = "-" if row.committed is None or row.committed < 0 else str(row.committed)
        table.append(
            (
                row.group,
                flink_groups.get(row.group, "-"),
                row.topic,
                str(row.partition),
                committed,
                str(row.end),
                "-" if row.lag is None else str(row.lag),
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(LAG_HEADER))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 3 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in table
    ]
    seen = {row.group for row in rows}
    lines += [
        f"{group} (Flink job {job}): no committed offsets (not started, or no checkpoint yet)"
        for group, job in flink_groups.items()
        if group not in seen
    ]
    return "\n".join(lines)


def savepoints_report(stack: StackSettings) -> str:
    from deploy.flink.flink_rest import FlinkRest, FlinkRestError
    from deploy.flink.restore import StateDirs, find_restore_points, restorable_job_ids
    from flink_jobs.registry import JOBS

    dirs = StateDirs(stack.flink_checkpoints, stack.flink_savepoints)
    ids_by_name: dict[str, list[str]] = {}
    try:
        with FlinkRest(f"http://127.0.0.1:{stack.flink_rest_port}") as flink:
            for summary in flink.jobs():
                ids_by_name.setdefault(summary.name, []).append(summary.job_id)
        note = ""
    except (FlinkRestError, OSError) as exc:
        note = f"(the JobManager does not answer ({exc}): checkpoints are matched to no job)"
    lines = [f"savepoints: {dirs.savepoints}", f"checkpoints: {dirs.checkpoints}"]
    if note:
        lines.append(note)
    for job in JOBS:
        points = find_restore_points(dirs, job.name, ids_by_name.get(job.name, []))
        lines.append(f"{job.name}: {len(points) or 'no'} restore point(s)")
        lines += [f"  {p.kind:<10} {p.created_at:%Y-%m-%d %H:%M:%S}Z  {p.path}" for p in points]
    known = {i for ids in ids_by_name.values() for i in ids}
    orphans = sorted(i for i in restorable_job_ids(dirs) if not any(k.startswith(i) for k in known))
    if orphans:
        lines.append(f"state of jobs the cluster no longer knows: {', '.join(orphans)}")
    return "\n".join(lines)


# -- command line --------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m deploy.local.toolbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("topics-list")
    for name in ("topics-describe", "produce"):
        sub.add_parser(name).add_argument("--topic", default=None)
    consume = sub.add_parser("consume")
    consume.add_argument("--topic", default=None)
    consume.add_argument("-n", "--count", type=int, default=10)
    sub.add_parser("lag")
    sub.add_parser("savepoints")
    sub.add_parser("restart").add_argument("--service", default=None)
    # Everything after `psql` goes to psql unchanged (main splits it off).
    sub.add_parser("psql")
    sub.add_parser("dbt-docs").add_argument("--port", type=int, default=DBT_DOCS_PORT)
    sub.add_parser("freshness")
    opened = sub.add_parser("open")
    opened.add_argument("--ui", choices=sorted(UIS), required=True)
    return p


def service_names(stack: StackSettings, lakehouse: LakehouseSettings) -> list[str]:
    from deploy.local.services import services

    return [s.name for s in services(stack, lakehouse)]


def build(
    args: argparse.Namespace,
    stack: StackSettings,
    lakehouse: LakehouseSettings,
    kafka: KafkaSettings,
) -> list[Command]:
    """The processes a command runs, in order (empty: the command reports by itself)."""
    match args.command:
        case "topics-list":
            return [topics_list_command(kafka)]
        case "topics-describe":
            topic = contract_topic(args.topic)
            return [topics_describe_command(kafka, topic)]
        case "consume":
            return [consume_command(kafka, args.topic, args.count)]
        case "produce":
            return [produce_command(kafka, args.topic)]
        case "restart":
            return [restart_command(stack, args.service, service_names(stack, lakehouse))]
        case "psql":
            return [psql_command(lakehouse, getattr(args, "psql_args", []))]
        case "dbt-docs":
            return dbt_docs_commands(stack, args.port)
        case "freshness":
            return [freshness_command(stack)]
    return []


# The platform's web UIs `open` knows: its address and the path that answers when it is up.
UIS = {"prometheus": ("prometheus_port", "/-/ready"), "console": ("console_port", "/healthz")}


def open_ui(stack: StackSettings, ui: str) -> str:
    """The UI's address, once it answers; opened in a browser when this machine has one."""
    import webbrowser

    from deploy.local.readiness import NotReady, http_ok

    port_setting, probe = UIS[ui]
    url = f"http://127.0.0.1:{getattr(stack, port_setting)}"
    try:
        http_ok(url + probe)
    except NotReady as exc:
        raise ToolboxError(f"{ui} does not answer at {url} ({exc}): is the platform up?") from exc
    webbrowser.open(url)
    return f"{ui}: {url}"


def run(command: Command) -> int:
    return subprocess.run(command.argv, env=command.env, cwd=command.cwd, check=False).returncode


def topic_configs(kafka: KafkaSettings, topic: str) -> str:
    from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    resource = ConfigResource(ResourceType.TOPIC, topic)
    configs = admin.describe_configs([resource], request_timeout=KAFKA_TIMEOUT_SECONDS)[resource]
    entries = sorted(configs.result().values(), key=lambda e: e.name)
    return "\n".join(f"  {e.name}={e.value}" + ("" if e.is_default else "  (set)") for e in entries)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The toolbox's options; `psql ...` passes every later argument to psql itself."""
    argv = list(argv)
    if argv[:1] == ["psql"]:
        args = parser().parse_args(["psql"])
        args.psql_args = argv[1:]
        return args
    return parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    stack, lakehouse, kafka = StackSettings(), LakehouseSettings(), KafkaSettings()
    try:
        if args.command == "lag":
            print(render_lag(consumer_lag(kafka), flink_consumer_groups()))
            return 0
        if args.command == "savepoints":
            print(savepoints_report(stack))
            return 0
        if args.command == "open":
            print(open_ui(stack, args.ui))
            return 0
        for command in build(args, stack, lakehouse, kafka):
            if code := run(command):
                return code
        if args.command == "topics-describe":
            print(f"configs of {args.topic}:")
            print(topic_configs(kafka, args.topic))
    except ToolboxError as exc:
        print(f"toolbox: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
