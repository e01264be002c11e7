"""Deterministic micro-batches of one partition's offsets.

A batch covers an aligned range of offsets, [k * size, (k + 1) * size - 1], so the same
messages always form the same batch (and the same workflow id), whenever and however
often they are read. Two things can end a batch before its range does:

- a timeout (`max_wait`), so a slow stream still flows. Such a *partial* batch is
  recorded as a plan in the commit metadata of its first offset before its workflow
  starts; a bridge that restarts from that offset reads the plan and cuts the first
  batch at the same place (see `plan_metadata`).
- a plan, as just described.

Offsets need not be contiguous (transaction markers take offsets), so a range is also
over when a message beyond its end arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workflows.models import Event

PLAN_PREFIX = "enrich-plan:last="


def range_end(offset: int, size: int) -> int:
    """The last offset of the aligned range holding `offset`."""
    if offset < 0 or size < 1:
        raise ValueError(f"bad offset {offset} or batch size {size}")
    return (offset // size + 1) * size - 1


def plan_metadata(last_offset: int) -> str:
    """Commit metadata saying: the batch starting at this commit ends at `last_offset`."""
    return f"{PLAN_PREFIX}{last_offset}"


def parse_plan(metadata: str | None) -> int | None:
    if not metadata or not metadata.startswith(PLAN_PREFIX):
        return None
    try:
        return int(metadata.removeprefix(PLAN_PREFIX))
    except ValueError:
        return None


@dataclass(frozen=True)
class OffsetBatch:
    partition: int
    first_offset: int
    last_offset: int
    events: list[Event]
    # Cut by the timeout before its range ended: it needs a plan committed first.
    partial: bool


@dataclass
class _Open:
    first_offset: int
    end: int
    opened_at: float
    planned: bool
    offsets: list[int] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


class PartitionBatcher:
    """Cuts one partition's messages, in offset order, into deterministic batches."""

    def __init__(
        self, partition: int, size: int, max_wait: float, planned_last: int | None = None
    ) -> None:
        self.partition = partition
        self.size = size
        self.max_wait = max_wait
        self._planned_last = planned_last
        self._open: _Open | None = None

    def add(self, offset: int, event: Event, now: float) -> list[OffsetBatch]:
        """Adds one message; returns the batches it completes (zero, one or two)."""
        ready: list[OffsetBatch] = []
        if self._open is not None and offset > self._open.end:
            ready.append(self._close(partial=False))
        if self._open is None:
            self._open = self._start(offset, now)
        self._open.offsets.append(offset)
        self._open.events.append(event)
        if offset >= self._open.end:
            ready.append(self._close(partial=False))
        return ready

    def due(self, now: float) -> OffsetBatch | None:
        """The open batch, if it waited long enough. A planned batch never times out: its
        messages are already in the log and must end where the plan says."""
        current = self._open
        if current is None or current.planned or now - current.opened_at < self.max_wait:
            return None
        return self._close(partial=True)

    @property
    def pending(self) -> int:
        return 0 if self._open is None else len(self._open.offsets)

    def _start(self, offset: int, now: float) -> _Open:
        end = range_end(offset, self.size)
        planned = self._planned_last is not None and offset <= self._planned_last < end
        if planned and self._planned_last is not None:
            end = self._planned_last
        self._planned_last = None  # a plan only ever names the first batch after a commit
        return _Open(first_offset=offset, end=end, opened_at=now, planned=planned)

    def _close(self, partial: bool) -> OffsetBatch:
        current = self._open
        assert current is not None
        self._open = None
        return OffsetBatch(
            partition=self.partition,
            first_offset=current.offsets[0],
            last_offset=current.offsets[-1],
            events=current.events,
            partial=partial and current.offsets[-1] < current.end,
        )
