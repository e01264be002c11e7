"""How much one worker process takes on at once: few workflow tasks (their code shares one
GIL; at the SDK's default of 100 an overloaded worker timed every task out), more activities
(they wait on I/O), both settable per deployment."""

from __future__ import annotations

import inspect

import pytest
from temporalio.worker import Worker

from workflows.settings import WorkflowSettings
from workflows.worker import worker_options


def test_the_worker_takes_its_task_queue_and_concurrency_from_the_settings(monkeypatch):
    monkeypatch.setenv("WORKFLOWS_MAX_CONCURRENT_WORKFLOW_TASKS", "2")
    monkeypatch.setenv("WORKFLOWS_MAX_CONCURRENT_ACTIVITIES", "30")
    settings = WorkflowSettings(task_queue="q-test")
    assert worker_options(settings) == {
        "task_queue": "q-test",
        "max_concurrent_workflow_tasks": 2,
        "max_concurrent_activities": 30,
    }


def test_by_default_a_worker_runs_a_few_workflow_tasks_and_more_activities():
    options = worker_options(WorkflowSettings())
    assert 2 <= options["max_concurrent_workflow_tasks"] <= 8
    assert options["max_concurrent_activities"] > options["max_concurrent_workflow_tasks"]


def test_every_option_is_one_the_sdk_worker_takes():
    # A misspelt keyword would only fail when the worker starts.
    accepted = set(inspect.signature(Worker.__init__).parameters)
    assert set(worker_options(WorkflowSettings())) <= accepted


def test_a_worker_takes_at_least_the_two_workflow_tasks_the_sdk_needs():
    with pytest.raises(ValueError):
        WorkflowSettings(max_concurrent_workflow_tasks=1)
