"""The retry policies' promises, checked on the policies the workflows actually use."""

from __future__ import annotations

import ast
import inspect
from datetime import timedelta

import pytest

from workflows import enrichment, policies, recovery
from workflows.bridge import consumer_config
from workflows.models import EnrichmentOptions, RecoveryInput
from workflows.reconnect import Backoff
from workflows.settings import WorkflowSettings


def test_persistence_retries_without_limit_and_caps_the_pause():
    policy = policies.persistence_retry(1.0, 30.0)
    assert policy.maximum_attempts == 0  # Temporal's "no limit"
    assert policy.maximum_interval == timedelta(seconds=30)
    assert policy.initial_interval == timedelta(seconds=1)
    assert policy.non_retryable_error_types == [policies.INVALID_RECORD]
    # Each try ends well after a publish has given up waiting for Kafka.
    limit = WorkflowSettings.model_fields["publish_timeout_seconds"].metadata
    longest_publish = next(m.le for m in limit if hasattr(m, "le"))
    assert policies.PERSISTENCE_START_TO_CLOSE.total_seconds() > longest_publish


def test_the_pause_is_never_shorter_than_the_first():
    assert policies.persistence_retry(5.0, 1.0).maximum_interval == timedelta(seconds=5)


def test_both_workflows_default_to_the_production_backoff():
    for options in (EnrichmentOptions(), RecoveryInput(event={"event_id": "e"})):
        assert options.persistence_retry_initial_seconds == 1.0
        assert options.persistence_retry_max_seconds == 30.0


@pytest.mark.parametrize("module", [enrichment, recovery])
def test_no_persistence_activity_has_a_deadline_that_would_end_its_retries(module):
    """A schedule-to-close timeout ends unlimited retries just as maximum_attempts does."""
    tree = ast.parse(inspect.getsource(module))
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and any(
            isinstance(a, ast.Attribute) and a.attr in ("publish_results", "record_attempt",
                                                         "claim_events")
            for a in node.args
        )
    ]  # fmt: skip
    assert calls, "no persistence activity call found"
    for call in calls:
        keywords = {k.arg for k in call.keywords}
        assert "schedule_to_close_timeout" not in keywords
        assert "retry_policy" in keywords and "start_to_close_timeout" in keywords


def test_backoff_doubles_up_to_its_maximum_and_starts_over_after_a_success():
    backoff = Backoff(0.5, 4.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.failures == 6
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_the_bridge_reads_only_committed_messages_and_commits_by_hand():
    config = consumer_config(WorkflowSettings())
    assert config["isolation.level"] == "read_committed"
    assert config["enable.auto.commit"] is False
