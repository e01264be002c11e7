"""The side stream's workflow code replays the histories older code wrote (recorded by
`python -m tests.workflows.record_histories`): a change that would break a workflow in
flight fails here. No server: Temporal's replayer runs the code against each history."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from workflows.enrichment import CONCURRENT_RECOVERY_STARTS_PATCH, EnrichmentWorkflow
from workflows.policies import HARD_DECLINE
from workflows.recovery import LOCAL_ACTIVITIES_PATCH, PaymentRecoveryWorkflow, failure_type

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
WORKFLOWS = [EnrichmentWorkflow, PaymentRecoveryWorkflow]


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def event_types(path: Path) -> list[str]:
    return [e["eventType"] for e in json.loads(path.read_text())["events"]]


def history(stem: str) -> Path:
    return next(p for p in HISTORIES if p.stem == stem)


def test_histories_of_each_version_are_there() -> None:
    recorded = {tuple(path.stem.split("-")[:2]) for path in HISTORIES}
    assert {
        ("recovery", "v1"),
        ("recovery", "v2"),
        ("enrichment", "v2"),
        ("enrichment", "v3"),
    } <= recorded


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
def test_the_current_code_replays_the_history(path: Path) -> None:
    replayer = Replayer(workflows=WORKFLOWS)
    result = asyncio.run(replayer.replay_workflow(load(path), raise_on_replay_failure=False))
    assert result.replay_failure is None, result.replay_failure


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_which_calls_are_local_activities(version: str) -> None:
    """v1: every call an activity task; v2: the strategy and the retry are markers in the
    history (local activities), the attempt's record an activity task."""
    types = event_types(history(f"recovery-{version}-recovered-second-attempt"))
    scheduled = types.count("EVENT_TYPE_ACTIVITY_TASK_SCHEDULED")
    markers = types.count("EVENT_TYPE_MARKER_RECORDED")
    # Two attempts: strategy, retry and record each; v2 adds the patch's marker.
    assert (scheduled, markers) == ((6, 0) if version == "v1" else (2, 2 * 2 + 1))


def test_code_without_the_patch_does_not_replay_the_new_histories(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The replayer does catch a mismatch: the v2 history against the code with the patch
    forced off (the strategy and the retry as activity tasks, as v1 had them) fails."""
    path = history("recovery-v2-recovered-second-attempt")
    asked: list[str] = []

    def never_patched(patch_id: str) -> bool:
        asked.append(patch_id)
        return False

    monkeypatch.setattr(workflow, "patched", never_patched)
    replayer = Replayer(workflows=WORKFLOWS)
    result = asyncio.run(replayer.replay_workflow(load(path), raise_on_replay_failure=False))
    assert asked == [LOCAL_ACTIVITIES_PATCH]
    assert result.replay_failure is not None


def tasks_between_child_starts(path: Path) -> int:
    """Workflow tasks completed between the first and the last recovery start."""
    types = event_types(path)
    starts = [
        i for i, t in enumerate(types) if t == "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED"
    ]
    assert len(starts) == 3  # the batch's three distinct failed payments
    return types[starts[0] : starts[-1]].count("EVENT_TYPE_WORKFLOW_TASK_COMPLETED")


def test_a_batchs_recoveries_start_in_one_workflow_task_since_v3() -> None:
    assert tasks_between_child_starts(history("enrichment-v2-batch")) == 2
    assert tasks_between_child_starts(history("enrichment-v3-batch")) == 0


def test_code_without_the_concurrent_starts_does_not_replay_v3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = workflow.patched
    monkeypatch.setattr(
        workflow,
        "patched",
        lambda patch_id: patch_id != CONCURRENT_RECOVERY_STARTS_PATCH and real(patch_id),
    )
    replayer = Replayer(workflows=WORKFLOWS)
    result = asyncio.run(
        replayer.replay_workflow(
            load(history("enrichment-v3-batch")), raise_on_replay_failure=False
        )
    )
    assert result.replay_failure is not None


def test_a_local_activitys_own_error_still_names_its_type() -> None:
    """A local activity that ran out of tries fails with the activity's own error (an
    activity task would wrap it in ActivityError): a hard decline is still recognised."""
    assert failure_type(ApplicationError("stolen_card", type=HARD_DECLINE)) == HARD_DECLINE
    assert failure_type(ApplicationError("503", type="HTTPStatusError")) == "HTTPStatusError"
    assert failure_type(RuntimeError("no type")) is None
