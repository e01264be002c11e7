from __future__ import annotations

import re
import subprocess

from lakehouse.settings import REPO_ROOT


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
