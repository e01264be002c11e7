"""The page and its JSON from a `ConsoleView`: the one number format, the sparklines as
inline SVG, and the Jinja environment (autoescaped: payloads are shown as text)."""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from observability.console.gather import ConsoleView, Figure, Points, Unavailable, Unit

TEMPLATES = Path(__file__).parent / "templates"
PAGE = "console.html"
NO_DATA = "—"
NOT_A_NUMBER = "n/a"
SPARKLINE_WIDTH, SPARKLINE_HEIGHT = 120.0, 24.0
UNIT_SUFFIXES = {Unit.PER_SECOND: " /s", Unit.MILLISECONDS: " ms"}


def format_number(value: float) -> str:
    """Whole numbers with thousands separators; others to three significant digits (or
    to the unit, from 1,000 up), without trailing zeros."""
    if not math.isfinite(value):
        return NOT_A_NUMBER
    if float(value).is_integer():
        return f"{int(value):,}"
    magnitude = math.floor(math.log10(abs(value)))
    text = f"{value:,.{max(0, 2 - magnitude)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_instant(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_figure(figure: Figure) -> str:
    """How the page shows a figure: the number in its unit, or that there is none."""
    value = figure.value
    if value is None:
        return NO_DATA
    if not math.isfinite(value):
        return NOT_A_NUMBER
    if figure.unit is Unit.INSTANT:
        return format_instant(value)
    if figure.unit is Unit.SHARE:
        return f"{format_number(value * 100)} %"
    return f"{format_number(value)}{UNIT_SUFFIXES.get(figure.unit, '')}"


def figure_value(figure: Figure) -> str:
    """The exact value behind the text (`data-value`): repr round-trips a float."""
    return "" if figure.value is None else repr(float(figure.value))


def sparkline_points(points: Points) -> str:
    """The SVG polyline of the points, scaled to the sparkline box (flat when constant)."""
    finite = [(t, v) for t, v in points if math.isfinite(v)]
    if len(finite) < 2:
        return ""
    t0, t1 = finite[0][0], finite[-1][0]
    low, high = min(v for _, v in finite), max(v for _, v in finite)
    span_t, span_v = (t1 - t0) or 1.0, (high - low) or 1.0

    def xy(t: float, v: float) -> str:
        x = (t - t0) / span_t * SPARKLINE_WIDTH
        y = SPARKLINE_HEIGHT - (v - low) / span_v * (SPARKLINE_HEIGHT - 2) - 1
        return f"{x:.1f},{y:.1f}"

    return " ".join(xy(t, v) for t, v in finite)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        figure=format_figure,
        figure_value=figure_value,
        sparkline=sparkline_points,
        instant=format_instant,
    )
    env.tests["unavailable"] = lambda value: isinstance(value, Unavailable)
    return env


def render_page(env: jinja2.Environment, view: ConsoleView, *, refresh_seconds: int = 0) -> str:
    return env.get_template(PAGE).render(
        view=view,
        refresh_seconds=refresh_seconds,
        sparkline_width=SPARKLINE_WIDTH,
        sparkline_height=SPARKLINE_HEIGHT,
    )


def _json_number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: those become null, as "no data" does."""
    return value if value is not None and math.isfinite(value) else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Unavailable):
        return {"unavailable": value.reason}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, float):
        return _json_number(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


# The view's fields that are not a section of the page.
NOT_SECTIONS = frozenset({"generated_at", "evaluated_at", "window", "sparkline_minutes", "links"})


def view_json(view: ConsoleView) -> dict[str, Any]:
    """The page's numbers by their `data-metric` key, and every section in full."""
    return {
        "generated_at": view.generated_at,
        "evaluated_at": view.evaluated_at,
        "window": _jsonable(view.window),
        "metrics": {f.key: _json_number(f.value) for f in view.figures()},
        "sections": {
            f.name: _jsonable(getattr(view, f.name))
            for f in fields(view)
            if f.name not in NOT_SECTIONS
        },
        "links": _jsonable(view.links),
    }
