"""Flink's ZooKeeper HA services: the rendered configuration and the ZooKeeper service.

The kill -9 of the shared JobManager is in tests/deploy/test_platform_faults.py; here
nothing of the shared platform is touched (a private ZooKeeper runs on a free port).
"""

from __future__ import annotations

import configparser
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.flink.policy import local_path
from deploy.local.readiness import NotReady, four_letter_word, zookeeper_ready
from deploy.local.render import render_all
from deploy.local.services import render_supervisord_conf, services
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack
from lakehouse.settings import LakehouseSettings


def flat(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested YAML as Flink reads it: one dotted key per leaf."""
    keys: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            keys |= flat(value, f"{prefix}{key}.")
        else:
            keys[f"{prefix}{key}"] = value
    return keys


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rendered_flink_config(stack: StackSettings) -> dict[str, Any]:
    render_all(stack, LakehouseSettings(warehouse=(stack.run_dir / "wh").as_uri()))
    return flat(yaml.safe_load((stack.conf_dir / "flink" / "config.yaml").read_text()))


def properties(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


@pytest.fixture
def ha_stack(tmp_path: Path) -> StackSettings:
    return StackSettings(run_dir=tmp_path / "run", flink_ha=True)


def test_flink_uses_zookeeper_ha_with_its_storage_under_the_run_folder(ha_stack: StackSettings):
    config = rendered_flink_config(ha_stack)
    assert config["high-availability.type"] == "zookeeper"
    assert config["high-availability.zookeeper.quorum"] == f"127.0.0.1:{ha_stack.zookeeper_port}"
    assert config["high-availability.cluster-id"]
    storage = local_path(config["high-availability.storageDir"])
    assert storage == ha_stack.flink_ha_storage
    assert storage.is_relative_to(ha_stack.run_dir)
    # The JobManager keeps its RPC port with HA (HA ignores jobmanager.rpc.port).
    assert config["high-availability.jobmanager.port"] == ha_stack.flink_rpc_port
    # A killed JobManager's leadership ends when ZooKeeper expires its session: well
    # within the 60 s in which its jobs must run again.
    timeout = config["high-availability.zookeeper.client.session-timeout"]
    assert timeout == f"{ha_stack.flink_ha_session_timeout_ms} ms"
    assert ha_stack.flink_ha_session_timeout_ms <= 15_000
    # The rest of the configuration is still there (one file, both parts).
    assert config["jobmanager.rpc.address"] == "127.0.0.1"
    assert config["execution.checkpointing.dir"] == ha_stack.flink_checkpoints.as_uri()


def test_without_ha_there_is_no_zookeeper_and_no_ha_key(tmp_path: Path):
    stack = StackSettings(run_dir=tmp_path / "run", flink_ha=False)
    config = rendered_flink_config(stack)
    assert not [key for key in config if key.startswith("high-availability")]
    assert "zookeeper" not in {s.name for s in services(stack, LakehouseSettings())}


def test_zookeeper_listens_on_loopback_with_its_data_under_the_run_folder(
    ha_stack: StackSettings,
):
    render_all(ha_stack, LakehouseSettings(warehouse=(ha_stack.run_dir / "wh").as_uri()))
    zoo = properties(ha_stack.conf_dir / "zookeeper" / "zoo.cfg")
    assert zoo["clientPortAddress"] == "127.0.0.1"
    assert zoo["clientPort"] == str(ha_stack.zookeeper_port) == "2181"
    assert Path(zoo["dataDir"]) == ha_stack.zookeeper_data_dir
    assert Path(zoo["dataDir"]).is_relative_to(ha_stack.run_dir)
    # The admin web server would take Trino's port 8080.
    assert zoo["admin.enableServer"] == "false"
    assert "srvr" in zoo["4lw.commands.whitelist"].split(",")
    # Flink's session timeout must be one ZooKeeper grants.
    assert int(zoo["minSessionTimeout"]) <= ha_stack.flink_ha_session_timeout_ms


def test_zookeeper_is_supervised_ready_before_the_jobmanager_and_stopped_after_it(
    ha_stack: StackSettings,
):
    listed = services(ha_stack, LakehouseSettings())
    names = [s.name for s in listed]
    by_name = {s.name: s for s in listed}
    zookeeper = by_name["zookeeper"]
    assert zookeeper.stage < by_name["flink-jobmanager"].stage
    # `down` stops in reverse order of this list.
    assert names.index("zookeeper") < names.index("flink-jobmanager")
    assert f"-Xmx{ha_stack.zookeeper_heap}" in zookeeper.command
    assert str(ha_stack.conf_dir / "zookeeper" / "zoo.cfg") in zookeeper.command
    # `down` checks that its port is closed afterwards.
    assert ha_stack.zookeeper_port in Stack(ha_stack, LakehouseSettings()).ports()

    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(render_supervisord_conf(ha_stack, listed))
    program = parser["program:zookeeper"]
    assert program["autorestart"] == "true"
    assert program["autostart"] == "false"


@pytest.fixture
def private_zookeeper(tmp_path: Path) -> Iterator[StackSettings]:
    """A ZooKeeper of the test's own: the shared one's command, another port and folder."""
    stack = StackSettings(run_dir=tmp_path / "run", flink_ha=True, zookeeper_port=free_port())
    render_all(stack, LakehouseSettings(warehouse=(stack.run_dir / "wh").as_uri()))
    if not any((stack.cache_dir / "jvm" / "zookeeper").glob("zookeeper-*.jar")):
        pytest.fail("ZooKeeper's jars are missing: run `make setup`")
    command = next(s for s in services(stack, LakehouseSettings()) if s.name == "zookeeper")
    log = (tmp_path / "zookeeper.log").open("w")
    process = subprocess.Popen(command.command, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield stack
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def wait_ready(stack: StackSettings, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return zookeeper_ready(stack, LakehouseSettings())
        except NotReady:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def listening_addresses(port: int) -> set[str]:
    output = subprocess.run(
        ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return {line.split()[3].rsplit(":", 1)[0] for line in output.splitlines() if line.strip()}


def test_a_started_zookeeper_is_ready_and_bound_to_loopback_only(
    private_zookeeper: StackSettings,
):
    detail = wait_ready(private_zookeeper)
    assert "standalone" in detail and "3.9." in detail
    assert four_letter_word("127.0.0.1", private_zookeeper.zookeeper_port, "ruok") == "imok"
    addresses = listening_addresses(private_zookeeper.zookeeper_port)
    assert addresses and addresses <= {"127.0.0.1", "[::ffff:127.0.0.1]"}, addresses


def test_zookeeper_is_not_ready_while_nothing_listens(tmp_path: Path):
    stack = StackSettings(run_dir=tmp_path / "run", flink_ha=True, zookeeper_port=free_port())
    with pytest.raises(NotReady):
        zookeeper_ready(stack, LakehouseSettings())
