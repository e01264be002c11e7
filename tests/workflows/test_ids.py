from __future__ import annotations

import pytest

from workflows.ids import enrichment_workflow_id, recovery_workflow_id


def test_enrichment_ids_name_the_topic_partition_and_offset_range():
    assert enrichment_workflow_id("payments.normalized", 2, 200, 399) == (
        "enrich-payments.normalized-2-200-399"
    )


def test_the_same_range_always_gets_the_same_id_and_other_ranges_other_ids():
    ids = {
        enrichment_workflow_id("t", p, first, last)
        for p, first, last in [(0, 0, 9), (0, 10, 19), (1, 0, 9), (0, 0, 4)]
    }
    assert len(ids) == 4
    assert enrichment_workflow_id("t", 0, 0, 9) == enrichment_workflow_id("t", 0, 0, 9)


@pytest.mark.parametrize(("partition", "first", "last"), [(-1, 0, 1), (0, 5, 4), (0, -1, 3)])
def test_impossible_ranges_are_refused(partition: int, first: int, last: int):
    with pytest.raises(ValueError):
        enrichment_workflow_id("t", partition, first, last)


def test_recovery_ids_follow_the_event():
    assert recovery_workflow_id("ab12") == "recovery-ab12"
    with pytest.raises(ValueError):
        recovery_workflow_id("")
