"""A private Flink cluster with the platform's HA configuration survives a kill -9 of its
JobManager: supervisord starts it again and the job resumes from its latest checkpoint,
same job id, with no command typed.

The same supervisord programs as `make up` writes (ZooKeeper, JobManager, TaskManager),
on free ports, in a folder of the test's own, under a supervisord of its own: the shared
platform is not touched. Heavy (about 2.5 GiB of JVMs for two minutes):

    .venv/bin/python -m pytest tests/deploy/test_flink_ha_cluster.py -m integration
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.flink.flink_rest import FlinkRest, FlinkRestError
from deploy.local.readiness import NotReady, zookeeper_ready
from deploy.local.render import render_all
from deploy.local.services import Service, flink_environment, render_supervisord_conf, services
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack
from lakehouse.settings import LakehouseSettings
from tests.deploy.faults import wait_for_jobs_running

pytestmark = pytest.mark.integration

CLUSTER = ("zookeeper", "flink-jobmanager", "flink-taskmanager")
JOB = """
SET 'pipeline.name' = 'ha-probe';
SET 'execution.checkpointing.interval' = '2s';
CREATE TEMPORARY TABLE numbers (n BIGINT)
  WITH ('connector' = 'datagen', 'rows-per-second' = '50', 'fields.n.kind' = 'random');
CREATE TEMPORARY TABLE sink (n BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT n FROM numbers;
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def private_services(stack: StackSettings) -> list[Service]:
    """The platform's own programs; Flink's pid files (which name its log files) kept in
    the test's folder, not beside the shared cluster's in /tmp."""
    pid_dir = {"FLINK_PID_DIR": str(stack.run_dir / "pids")}
    return [
        dataclasses.replace(s, environment=s.environment | pid_dir) if s.environment else s
        for s in services(stack, LakehouseSettings())
        if s.name in CLUSTER
    ]


class PrivateCluster:
    def __init__(self, stack: StackSettings) -> None:
        self.stack = stack
        self.control = Stack(stack, LakehouseSettings())
        self.control.services = private_services(stack)
        self.flink = FlinkRest(f"http://127.0.0.1:{stack.flink_rest_port}", timeout=3)

    def start(self) -> None:
        render_all(self.stack, LakehouseSettings(warehouse=(self.stack.run_dir / "wh").as_uri()))
        for folder in (self.stack.log_dir / "flink", self.stack.run_dir / "pids"):
            folder.mkdir(parents=True, exist_ok=True)
        self.control.supervisor_conf.write_text(
            render_supervisord_conf(self.stack, self.control.services)
        )
        self.control.start_supervisord()
        if self.stack.flink_ha:
            self.control.supervisorctl("start", "zookeeper")
            self.wait("ZooKeeper", lambda: zookeeper_ready(self.stack, LakehouseSettings()))
        self.control.supervisorctl("start", "flink-jobmanager", "flink-taskmanager")
        self.wait("Flink", self.flink_ready)

    def flink_ready(self) -> str:
        try:
            overview = self.flink.overview()
        except FlinkRestError as exc:
            raise NotReady(str(exc)) from exc
        if overview.slots_available < 1:
            raise NotReady("no free slot yet")
        return "ready"

    def wait(self, what: str, check, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                check()
                return
            except NotReady as exc:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{what} not ready: {exc}\n{self.logs()}") from exc
            time.sleep(1)

    def submit(self, statements: str) -> str:
        script = self.stack.run_dir / "job.sql"
        script.write_text(statements)
        env = os.environ | flink_environment(self.stack)
        env["FLINK_PID_DIR"] = str(self.stack.run_dir / "pids")
        result = subprocess.run(
            [str(self.stack.flink_home / "bin" / "sql-client.sh"), "-f", str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert "[ERROR]" not in result.stdout, result.stdout[-3000:]
        ids = [line.split()[-1] for line in result.stdout.splitlines() if "Job ID:" in line]
        assert len(ids) == 1, result.stdout[-3000:]
        return ids[0]

    def jobmanager_pid(self) -> int:
        return int(self.control.supervisorctl("pid", "flink-jobmanager").stdout.strip())

    def logs(self) -> str:
        tails = []
        for name in CLUSTER:
            log = self.stack.log_dir / f"{name}.log"
            if log.exists():
                tails.append(f"--- {name}\n" + "\n".join(log.read_text().splitlines()[-15:]))
        return "\n".join(tails)

    def stop(self) -> None:
        self.flink.close()
        if self.control.supervisord_running():
            self.control.supervisorctl("stop", "all", check=False)
            self.control.supervisorctl("shutdown", check=False)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[PrivateCluster]:
    stack = StackSettings(
        run_dir=tmp_path / "run",
        flink_ha=True,
        pushgateway_port=0,  # pushing as flink-jobmanager would overwrite the platform's
        zookeeper_port=free_port(),
        flink_rest_port=free_port(),
        flink_rpc_port=free_port(),
        flink_taskmanager_slots=1,
        flink_jobmanager_memory="1024m",
        flink_taskmanager_memory="1280m",
    )
    if not any((stack.cache_dir / "jvm" / "zookeeper").glob("zookeeper-*.jar")):
        pytest.fail("ZooKeeper's jars are missing: run `make setup`")
    private = PrivateCluster(stack)
    try:
        private.start()
        yield private
    finally:
        private.stop()


def kill_process_tree(pid: int) -> None:
    """kill -9 of the program and everything below it (the JVM below its wrapper)."""
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    for child in children:
        kill_process_tree(int(child))
    os.kill(pid, 9)


def wait_for_checkpoint(flink: FlinkRest, job_id: str, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        latest = flink.checkpoints(job_id).latest_completed
        if latest is not None:
            return latest.checkpoint_id
        time.sleep(1)
    raise AssertionError(f"no completed checkpoint of {job_id} within {timeout:.0f}s")


def test_a_killed_jobmanager_comes_back_with_its_job_from_the_latest_checkpoint(
    cluster: PrivateCluster,
):
    job_id = cluster.submit(JOB)
    wait_for_jobs_running(cluster.flink.base_url, [job_id], timeout=120)
    checkpointed = wait_for_checkpoint(cluster.flink, job_id)

    old = cluster.jobmanager_pid()
    kill_process_tree(old)
    seconds = wait_for_jobs_running(cluster.flink.base_url, [job_id], timeout=60)

    assert cluster.jobmanager_pid() != old
    restored = cluster.flink.checkpoints(job_id).restored
    assert restored is not None and not restored.is_savepoint, restored
    assert restored.checkpoint_id >= checkpointed
    # The recovered job is the only one: nothing was submitted again.
    assert [job.job_id for job in cluster.flink.jobs()] == [job_id]
    print(f"running again {seconds:.0f}s after the kill", file=sys.stderr)
