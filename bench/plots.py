"""PNG plots of the benchmarks (matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def line_plot(
    path: Path,
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    log_y: bool = False,
) -> str:
    figure, axes = plt.subplots(figsize=(7, 4))
    for label, (xs, ys) in series.items():
        axes.plot(xs, ys, marker="o", label=label)
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if log_y:
        axes.set_yscale("log")
    axes.grid(True, alpha=0.3)
    axes.legend()
    return _save(figure, path)


def histogram(
    path: Path,
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    xlabel: str,
    ylabel: str = "rows",
) -> str:
    figure, axes = plt.subplots(figsize=(7, 4))
    for label, values in series.items():
        if values:
            axes.hist(values, bins=40, alpha=0.6, label=label)
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axes.grid(True, alpha=0.3)
    axes.legend()
    return _save(figure, path)


def bar_plot(
    path: Path, groups: Mapping[str, Mapping[str, float]], *, title: str, ylabel: str
) -> str:
    """One cluster of bars per group key, one bar per inner key."""
    labels = list(groups)
    inner = sorted({key for values in groups.values() for key in values})
    width = 0.8 / max(len(inner), 1)
    figure, axes = plt.subplots(figsize=(8, 4))
    for index, key in enumerate(inner):
        xs = [n + index * width for n in range(len(labels))]
        axes.bar(xs, [groups[label].get(key, 0.0) for label in labels], width, label=key)
    axes.set_xticks([n + width * (len(inner) - 1) / 2 for n in range(len(labels))], labels)
    axes.set(title=title, ylabel=ylabel)
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend()
    return _save(figure, path)


def _save(figure: plt.Figure, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return str(path)
