"""Rewrites the figures section of bench/RESULTS.md; the text around it is kept as written."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.results import Result, format_markdown_table

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


def render_figures(
    results: Sequence[Result], machine: dict[str, Any], run_dir: Path, command: str
) -> str:
    versions = ", ".join(f"{name} {v}" for name, v in machine["versions"].items())
    lines = [
        f"Last run: `{command}`, results in `{relative(run_dir)}`.",
        "",
        f"Machine: {machine['cpu_model']}, {machine['cpus']} CPUs, "
        f"{machine['memory_gib']} GiB RAM, Linux {machine['kernel']}.",
        "",
        f"Versions: {versions}.",
        "",
    ]
    for result in results:
        lines.append(f"### {result.name}")
        lines.append("")
        if not result.measured:
            lines += [f"Not measured: {result.reason}", ""]
            continue
        if result.reason:
            lines += [result.reason, ""]
        lines += [format_markdown_table(result.rows), ""]
        lines += [f"Plot: `{relative(plot)}`" for plot in result.plots]
        if result.plots:
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


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
