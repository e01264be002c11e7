"""The soak's arithmetic, free of any service: exact reconciliation and lag growth.

A reconciliation compares what should have landed (keys: provider event ids, Kafka
coordinates, event ids) with the rows found; it is exact when every expected key is
found exactly once. Rows with keys nobody expected (another user's traffic on the shared
platform) are counted apart and do not make it inexact.

Lag growth: the least-squares slope of a group's lag over the run, after a warm-up,
against the rate at which messages arrive on its topics. The lag grows when the group
consumes less than `SUSTAINED_SHARE` of what arrives and, over the judged part of the run,
falls behind by more than a checkpoint's worth of messages (the sawtooth of committing
on checkpoints is that high); a backlog drained early in the run does not count.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

# The share of the arriving messages a job must consume for the rate to be sustained.
SUSTAINED_SHARE = 0.99
# The start of the run that is not judged (the jobs' first checkpoints, JIT warm-up).
WARM_UP_SHARE = 0.2


@dataclass(frozen=True)
class Reconciliation:
    expected: int  # distinct keys that should be there
    matched: int  # of those, how many were found
    found: int  # rows with an expected key (a key found twice counts twice)
    foreign: int = 0  # rows with a key nobody expected

    @property
    def missing(self) -> int:
        return self.expected - self.matched

    @property
    def duplicates(self) -> int:
        return self.found - self.matched

    @property
    def exact(self) -> bool:
        return self.missing == 0 and self.duplicates == 0

    def describe(self) -> str:
        text = "exact" if self.exact else f"missing {self.missing:,}, twice {self.duplicates:,}"
        return text + (f"; {self.foreign:,} rows of other traffic" if self.foreign else "")

    def __add__(self, other: Reconciliation) -> Reconciliation:
        return Reconciliation(
            self.expected + other.expected,
            self.matched + other.matched,
            self.found + other.found,
            self.foreign + other.foreign,
        )


def reconcile_keys(expected: Iterable[Hashable], rows: Iterable[Hashable]) -> Reconciliation:
    wanted = set(expected)
    counts = Counter(rows)
    found = sum(n for key, n in counts.items() if key in wanted)
    matched = sum(1 for key in counts if key in wanted)
    return Reconciliation(len(wanted), matched, found, sum(counts.values()) - found)


def offset_window(start: int, end: int, rows: int, distinct: int) -> Reconciliation:
    """A partition's offsets [start, end) against the rows whose offsets lie in it (the
    query counts them and their distinct offsets): every offset should be there once."""
    return Reconciliation(expected=end - start, matched=distinct, found=rows)


def accepted_webhooks(
    hits: Iterable[tuple[int, bool]], raw_keys: Mapping[int, Hashable]
) -> set[Hashable]:
    """The provider events the gateway accepted into its raw topics: the keys of the
    targets answered 2xx that go to a raw topic (`raw_keys`, by target number). A
    redelivery has its original's key, so it counts once."""
    return {raw_keys[n] for n, ok in hits if ok and n in raw_keys}


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs; 0 for fewer than two distinct xs."""
    n = len(xs)
    if n < 2:
        return 0.0
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


@dataclass(frozen=True)
class LagTrend:
    lag_slope: float  # messages per second the lag grows by (after the warm-up)
    arrival_rate: float  # messages per second arriving on the group's topics
    last_lag: float
    judged_seconds: float = 0.0
    checkpoint_seconds: float = 5.0

    @property
    def consumed_share(self) -> float:
        """What share of the arriving messages the group consumed (1: all of them)."""
        if self.arrival_rate <= 0:
            return math.nan if self.lag_slope > 0 else 1.0
        return 1.0 - self.lag_slope / self.arrival_rate

    @property
    def growing(self) -> bool:
        grown = self.lag_slope * self.judged_seconds
        if self.arrival_rate <= 0:
            return grown > 1.0  # nothing arrives, yet the lag rises
        checkpoint_worth = self.arrival_rate * self.checkpoint_seconds
        return self.consumed_share < SUSTAINED_SHARE and grown > checkpoint_worth


def lag_trend(
    times: Sequence[float],
    ends: Sequence[int],
    committed: Sequence[int],
    checkpoint_seconds: float = 5.0,
) -> LagTrend:
    """The trend of a group's samples (time, sum of end offsets, sum of committed
    offsets) over the run after its warm-up."""
    if not times:
        return LagTrend(0.0, 0.0, 0.0, 0.0, checkpoint_seconds)
    cut = times[0] + WARM_UP_SHARE * (times[-1] - times[0])
    kept = [i for i, t in enumerate(times) if t >= cut]
    xs = [times[i] for i in kept]
    lags = [float(ends[i] - committed[i]) for i in kept]
    arrivals = [float(ends[i]) for i in kept]
    return LagTrend(
        slope(xs, lags), slope(xs, arrivals), lags[-1], xs[-1] - xs[0], checkpoint_seconds
    )


def windows(points: Iterable[tuple[float, float]], width: float) -> list[tuple[float, list[float]]]:
    """Points (x, value) grouped into windows of `width` by x: (window start, values)."""
    grouped: dict[int, list[float]] = {}
    for x, value in points:
        grouped.setdefault(math.floor(x / width), []).append(value)
    return [(index * width, grouped[index]) for index in sorted(grouped)]
