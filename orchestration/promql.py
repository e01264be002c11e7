"""Figures read from Prometheus at one instant, or at each step of a window ending there.

Every figure of one materialisation is read as of the same `end`, so the figures agree
with each other, and any of them read again later at that time gives the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from observability.prometheus import PrometheusClient

# A window is read at least this finely (the platform scrapes and evaluates every 5 s).
MAX_STEP_SECONDS = 15.0

# A series' value at each instant of a window, oldest first; None where it was absent,
# NaN where it was a ratio of nothing.
Trend = list[float | None]


class SourceDown(RuntimeError):
    """Prometheus answered, but what it scrapes the figures from did not."""


@dataclass(frozen=True)
class Window:
    end: float  # unix seconds
    span: float  # seconds; 0 for the instant `end` alone
    step: float

    @classmethod
    def ending_at(cls, end: float, span: float) -> Window:
        if span <= 0:
            return cls(end, 0.0, 1.0)
        steps = math.ceil(span / MAX_STEP_SECONDS)
        return cls(end, span, span / steps)

    @property
    def start(self) -> float:
        return self.end - self.span

    @property
    def size(self) -> int:
        return round(self.span / self.step) + 1


def trends(client: PrometheusClient, promql: str, window: Window, label: str) -> dict[str, Trend]:
    """Each series of `promql` over the window, by its value of `label` ("" without)."""
    found: dict[str, Trend] = {}
    for series in client.query_range(promql, window.start, window.end, window.step):
        values: Trend = [None] * window.size
        for at, value in series.points:
            index = round((at - window.start) / window.step)
            if 0 <= index < window.size:
                values[index] = value
        found[series.labels.get(label, "")] = values
    return found


def instant(
    client: PrometheusClient, promql: str, end: float, label: str
) -> dict[str, float | None]:
    """Each series of `promql` at `end`, by its value of `label`."""
    return latest(trends(client, promql, Window.ending_at(end, 0), label))


def total(client: PrometheusClient, promql: str, end: float) -> float | None:
    """The one value of an aggregated `promql` at `end`; None when it has no series."""
    return instant(client, promql, end, label="").get("")


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def held(trend: Trend, condition: Callable[[float], bool]) -> bool:
    """The condition held at every instant of the window (an alert's `for`)."""
    values = [_number(value) for value in trend]
    return bool(values) and all(value is not None and condition(value) for value in values)


def latest(trends_by_key: dict[str, Trend]) -> dict[str, float | None]:
    """Each series' value at the window's end (None for NaN), as an instant query there
    answers: a series absent at the end (a job that stopped) is left out."""
    return {
        key: _number(trend[-1])
        for key, trend in trends_by_key.items()
        if trend and trend[-1] is not None
    }
