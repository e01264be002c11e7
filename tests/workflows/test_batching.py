"""Batch boundaries: aligned ranges, timeouts, plans, and gaps in the offsets."""

from __future__ import annotations

import pytest

from workflows.batching import (
    OffsetBatch,
    PartitionBatcher,
    parse_plan,
    plan_metadata,
    range_end,
)


def feed(batcher: PartitionBatcher, offsets, now: float = 0.0) -> list[OffsetBatch]:
    ready: list[OffsetBatch] = []
    for offset in offsets:
        ready += batcher.add(offset, {"event_id": f"e{offset}"}, now)
    return ready


def ranges(batches: list[OffsetBatch]) -> list[tuple[int, int]]:
    return [(b.first_offset, b.last_offset) for b in batches]


def test_range_ends_are_aligned_to_the_batch_size():
    assert [range_end(o, 10) for o in (0, 9, 10, 19, 25)] == [9, 9, 19, 19, 29]
    with pytest.raises(ValueError):
        range_end(-1, 10)


def test_full_ranges_are_cut_at_aligned_offsets_wherever_reading_starts():
    from_start = feed(PartitionBatcher(0, 10, max_wait=5), range(0, 30))
    assert ranges(from_start) == [(0, 9), (10, 19), (20, 29)]
    # A bridge that resumes at offset 10 (a committed boundary) cuts the same batches.
    resumed = feed(PartitionBatcher(0, 10, max_wait=5), range(10, 30))
    assert ranges(resumed) == [(10, 19), (20, 29)]
    assert all(not b.partial for b in from_start + resumed)
    assert [e["event_id"] for e in from_start[1].events] == [f"e{o}" for o in range(10, 20)]


def test_a_message_past_the_range_closes_it_despite_gaps():
    # Transaction markers take offsets: 9 never arrives as a message.
    batches = feed(PartitionBatcher(0, 10, max_wait=5), [6, 7, 8, 11])
    assert ranges(batches) == [(6, 8)]
    assert not batches[0].partial


def test_a_range_that_waits_too_long_is_flushed_as_partial():
    batcher = PartitionBatcher(0, 10, max_wait=2)
    assert feed(batcher, [0, 1, 2], now=100.0) == []
    assert batcher.due(101.0) is None
    batch = batcher.due(102.5)
    assert batch is not None and batch.partial and (batch.first_offset, batch.last_offset) == (0, 2)
    # The rest of the range follows in its own batch, still ending at the aligned end.
    assert ranges(feed(batcher, range(3, 10), now=103.0)) == [(3, 9)]


def test_a_plan_cuts_the_first_batch_where_it_was_cut_before_the_crash():
    batcher = PartitionBatcher(0, 10, max_wait=2, planned_last=4)
    assert ranges(feed(batcher, range(0, 10))) == [(0, 4), (5, 9)]


def test_a_planned_batch_never_times_out():
    batcher = PartitionBatcher(0, 10, max_wait=2, planned_last=4)
    feed(batcher, [0, 1], now=0.0)
    assert batcher.due(1000.0) is None
    assert ranges(feed(batcher, [2, 3, 4])) == [(0, 4)]


def test_a_plan_outside_the_first_range_is_ignored():
    batcher = PartitionBatcher(0, 10, max_wait=2, planned_last=3)
    assert ranges(feed(batcher, range(5, 10))) == [(5, 9)]


def test_plan_metadata_round_trips_and_foreign_metadata_is_no_plan():
    assert parse_plan(plan_metadata(41)) == 41
    assert parse_plan("") is None
    assert parse_plan(None) is None
    assert parse_plan("something else") is None
    assert parse_plan("enrich-plan:last=x") is None
