"""supervisord never gives a platform service up: a dependency that is down for a while
is waited out, and the service comes back by itself."""

from __future__ import annotations

import configparser
from pathlib import Path

from deploy.local.services import render_supervisord_conf, services
from deploy.local.settings import StackSettings
from lakehouse.settings import LakehouseSettings


def programs(tmp_path: Path) -> dict[str, configparser.SectionProxy]:
    stack = StackSettings(run_dir=tmp_path / "run")
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(render_supervisord_conf(stack, services(stack, LakehouseSettings())))
    return {
        name.removeprefix("program:"): parser[name]
        for name in parser.sections()
        if name.startswith("program:")
    }


def test_every_service_is_restarted_and_never_given_up_on(tmp_path: Path):
    rendered = programs(tmp_path)
    assert {"kafka", "temporal", "worker", "bridge"} <= set(rendered)
    for name, program in rendered.items():
        assert program["autorestart"] == "true", name
        # supervisord waits 1 s longer after each failed start: at 100,000 failed starts
        # in a row it would be waiting more than a day between tries, so no outage of a
        # dependency ends in FATAL.
        assert int(program["startretries"]) >= 100_000, name
        # Long enough that a process dying at start-up is seen as failing, short enough
        # that the count of failed starts resets soon after it stays up.
        assert 1 <= int(program["startsecs"]) <= 10, name


def test_the_worker_serves_its_metrics_on_loopback(tmp_path: Path):
    worker = programs(tmp_path)["worker"]
    assert 'WORKFLOWS_METRICS_PORT="9464"' in worker["environment"]
