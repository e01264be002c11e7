"""Workflow ids: deterministic, so a redelivered message or batch can never start a second
enrichment or a second recovery of the same payment."""

from __future__ import annotations


def enrichment_workflow_id(topic: str, partition: int, first_offset: int, last_offset: int) -> str:
    """One id per (topic, partition, offset range): the range, not its content, names it."""
    if first_offset < 0 or last_offset < first_offset or partition < 0:
        raise ValueError(f"bad offset range {partition}:{first_offset}-{last_offset}")
    return f"enrich-{topic}-{partition}-{first_offset}-{last_offset}"


def recovery_workflow_id(event_id: str) -> str:
    """One recovery per failed payment, whichever batch (or bridge run) saw it."""
    if not event_id:
        raise ValueError("a recovery needs the failed payment's event_id")
    return f"recovery-{event_id}"
