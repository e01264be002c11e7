from __future__ import annotations

import os
import re
import socket
import subprocess

from contracts.paths import REPO_ROOT


def test_help_lists_every_target_with_a_description():
    makefile = (REPO_ROOT / "Makefile").read_text()
    declared = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    documented = set(re.findall(r"^([a-z][a-z-]*):.*## ", makefile, flags=re.M))
    assert declared == documented

    shown = subprocess.run(
        ["make", "-s", "help"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    for target in documented:
        assert re.search(rf"\b{re.escape(target)}\b", shown), target


def test_a_second_copy_of_a_supervised_service_says_its_port_is_taken():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        for target, variable in (("gateway", "GATEWAY_PORT"), ("inference", "INFERENCE_PORT")):
            run = subprocess.run(
                ["make", "-s", target],
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                env={**os.environ, variable: str(port)},
                timeout=60,
            )
            assert run.returncode != 0, target
            assert f"127.0.0.1:{port} is taken" in run.stdout, (target, run.stdout, run.stderr)
