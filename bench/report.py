"""Rewrites the figures section of bench/RESULTS.md; the text around it is kept as written.

A run rewrites the sections of the benchmarks it ran and keeps the others' (`--only`), so
each section says which run it comes from and where its plots are (the run's folder
under `.run/bench/`, which is not committed).

`python -m bench.report RUN_DIR [RUN_DIR ...]` renders the sections again from runs' saved
JSON, oldest first (after a change to this file, or to take figures from an older run).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.results import Result, format_markdown_table, write_json
from bench.settings import BENCHMARKS

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_MD = REPO_ROOT / "bench" / "RESULTS.md"
RUN_FILE = "run.json"
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
    finished: str | None = None,
) -> str:
    """The machine, then one section per benchmark: this run's, and for the benchmarks it
    did not run, their sections from `previous` (the block as it was), each naming its run."""
    versions = ", ".join(f"{name} {v}" for name, v in machine["versions"].items())
    finished = finished or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
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


def write_run_file(run_dir: Path, command: str) -> None:
    """What a re-render needs besides the JSON results: the command and when it finished."""
    finished = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    write_json(run_dir / RUN_FILE, {"command": command, "finished": finished})


def rerender(run_dirs: Sequence[Path], results_md: Path = RESULTS_MD) -> None:
    """Renders the benchmarks' sections of each run again, later runs over earlier ones."""
    figures = current_figures(results_md)
    for run_dir in run_dirs:
        machine = json.loads((run_dir / "machine.json").read_text())
        run = json.loads((run_dir / RUN_FILE).read_text()) if (run_dir / RUN_FILE).exists() else {}
        results = [
            Result(**json.loads((run_dir / f"{name}.json").read_text()))
            for name in BENCHMARKS
            if (run_dir / f"{name}.json").exists()
        ]
        command = run.get("command", "python -m bench")
        figures = render_figures(results, machine, run_dir, command, figures, run.get("finished"))
    update_results_md(figures, results_md)


def main(argv: Sequence[str] | None = None) -> int:
    run_dirs = [Path(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    if not run_dirs:
        raise SystemExit("usage: python -m bench.report RUN_DIR [RUN_DIR ...] (oldest first)")
    rerender(run_dirs)
    print(f"{relative(RESULTS_MD)} rendered from {', '.join(map(relative, run_dirs))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
