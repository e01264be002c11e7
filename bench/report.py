"""Rewrites the figures section of bench/RESULTS.md; the text around it is kept as written.

A run rewrites the sections of the benchmarks it ran and keeps the others' (`--only`), so
each section says which run it comes from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.results import Result, format_markdown_table
from bench.settings import BENCHMARKS

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_MD = REPO_ROOT / "bench" / "RESULTS.md"
BEGIN = "<!-- figures:begin (written by `python -m bench`; edits inside are overwritten) -->"
END = "<!-- figures:end -->"


def relative(path: Path | str) -> str:
    """A path under the checkout as it is from the checkout's root (the file is committed)."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def render_section(result: Result, run_dir: Path, command: str, finished: str) -> str:
    lines = [f"### {result.name}", "", f"Run {finished}: `{command}`, `{relative(run_dir)}`.", ""]
    if not result.measured:
        lines += [f"Not measured: {result.reason}", ""]
    else:
        if result.reason:
            lines += [result.reason, ""]
        lines += [format_markdown_table(result.rows), ""]
        lines += [f"Plot: `{relative(plot)}`" for plot in result.plots]
        if result.plots:
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def sections_of(figures: str) -> dict[str, str]:
    """The `### <benchmark>` sections of a figures block, by benchmark name."""
    sections: dict[str, str] = {}
    for chunk in figures.split("\n### ")[1:]:
        name = chunk.split("\n", 1)[0].strip()
        sections[name] = "### " + chunk.rstrip() + "\n"
    return sections


def render_figures(
    results: Sequence[Result],
    machine: dict[str, Any],
    run_dir: Path,
    command: str,
    previous: str = "",
) -> str:
    """The machine, then one section per benchmark: this run's, and for the benchmarks it
    did not run, their sections from `previous` (the block as it was), each naming its run."""
    versions = ", ".join(f"{name} {v}" for name, v in machine["versions"].items())
    finished = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = sections_of(previous)
    for result in results:
        sections[result.name] = render_section(result, run_dir, command, finished)
    ordered = [n for n in BENCHMARKS if n in sections] + sorted(set(sections) - set(BENCHMARKS))
    lines = [
        f"Machine: {machine['cpu_model']}, {machine['cpus']} CPUs, "
        f"{machine['memory_gib']} GiB RAM, Linux {machine['kernel']}.",
        "",
        f"Versions: {versions}.",
        "",
    ]
    return "\n".join(lines) + "\n".join(sections[name] for name in ordered)


def current_figures(path: Path = RESULTS_MD) -> str:
    """The text between the markers, or nothing."""
    document = path.read_text() if path.exists() else ""
    if BEGIN not in document or END not in document:
        return ""
    return document.split(BEGIN, 1)[1].split(END, 1)[0]


def replace_figures(document: str, figures: str) -> str:
    """The document with the text between the markers replaced (appended if absent)."""
    block = f"{BEGIN}\n{figures}{END}"
    if BEGIN in document and END in document:
        head, rest = document.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        return head + block + tail
    return document.rstrip() + "\n\n## Figures of the last run\n\n" + block + "\n"


def update_results_md(figures: str, path: Path = RESULTS_MD) -> None:
    document = path.read_text() if path.exists() else ""
    path.write_text(replace_figures(document, figures))
