"""The `make up` step that sets the Temporal namespace's retention: the command it builds,
checked against the Temporal CLI the platform runs."""

from __future__ import annotations

import subprocess

import pytest

from deploy.local.settings import StackSettings
from deploy.local.stack import temporal_retention_command


def flags(command: list[str]) -> dict[str, str]:
    """`--flag value` pairs of a command (every flag it builds takes a value)."""
    options = command[4:]
    return dict(zip(options[::2], options[1::2], strict=True))


def test_the_command_updates_the_namespace_on_the_platforms_dev_server() -> None:
    stack = StackSettings(temporal_port=7299, temporal_retention_hours=96)
    command = temporal_retention_command(stack, "payments")
    assert command[0] == str(stack.app_venv / "bin" / "temporal")
    assert command[1:4] == ["operator", "namespace", "update"]
    assert flags(command) == {
        "--address": "127.0.0.1:7299",
        "--namespace": "payments",
        "--retention": "96h",
        "--command-timeout": "30s",
    }


def test_the_default_retention_is_three_days() -> None:
    assert flags(temporal_retention_command(StackSettings(), "default"))["--retention"] == "72h"


def test_a_retention_under_a_day_is_refused() -> None:
    with pytest.raises(ValueError):
        StackSettings(temporal_retention_hours=12)


def test_the_temporal_cli_knows_every_flag() -> None:
    command = temporal_retention_command(StackSettings(), "default")
    binary = command[0]
    try:
        own = subprocess.run([*command[:4], "--help"], capture_output=True, text=True, timeout=30)
        shared = subprocess.run([binary, "options"], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        pytest.skip(f"no Temporal CLI at {binary}: `make setup`")
    known = own.stdout + shared.stdout
    for flag in flags(command):
        assert flag in known, f"{flag} is not a flag of `temporal operator namespace update`"
