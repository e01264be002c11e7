"""How much disk the run folder uses, in total and per top-level folder (`make status`)."""

from __future__ import annotations

import os
from pathlib import Path


def used_bytes(path: Path) -> int:
    """Bytes allocated on disk under `path` (like `du`), not following links."""
    total = 0
    for root, folders, files in os.walk(path, onerror=lambda error: None):
        for name in folders + files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                continue  # removed while we looked (a checkpoint being pruned)
    return total


def usage_by_folder(run_dir: Path) -> list[tuple[str, int]]:
    """(folder name, bytes) for each folder in `run_dir`, largest first."""
    if not run_dir.is_dir():
        return []
    sizes = [(entry.name, used_bytes(entry)) for entry in run_dir.iterdir() if entry.is_dir()]
    return sorted(sizes, key=lambda item: item[1], reverse=True)


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def disk_summary(run_dir: Path, largest: int = 4) -> str:
    """`1.2 GiB (warehouse 800.0 MiB, kafka 300.0 MiB, ...)` for the status page."""
    folders = usage_by_folder(run_dir)
    total = sum(size for _, size in folders)
    parts = ", ".join(f"{name} {human(size)}" for name, size in folders[:largest])
    return f"{human(total)} ({parts})" if parts else human(total)
