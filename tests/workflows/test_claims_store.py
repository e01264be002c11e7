"""The claims table on the platform's PostgreSQL: the first workflow to claim an event_id
owns it for good, and the same workflow finds its claims again when it retries."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from workflows.claims_store import ClaimsStore, drop_claims_table, ensure_claims_table
from workflows.settings import WorkflowSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def store() -> Iterator[ClaimsStore]:
    dsn, table = WorkflowSettings().postgres_dsn, f"it_claims_{uuid.uuid4().hex[:8]}"
    ensure_claims_table(dsn, table)
    ensure_claims_table(dsn, table)  # a second worker starting finds it there
    try:
        yield ClaimsStore(dsn, table)
    finally:
        drop_claims_table(dsn, table)


def test_first_claim_wins_and_a_retry_owns_its_claims_again(store: ClaimsStore):
    async def scenario() -> tuple[list[str], list[str], list[str]]:
        first = await store.claim("enrich-a", ["e1", "e2", "e3"])
        other = await store.claim("enrich-b", ["e3", "e4", "e2"])
        retried = await store.claim("enrich-a", ["e1", "e2", "e3"])
        return first, other, retried

    first, other, retried = asyncio.run(scenario())
    assert first == ["e1", "e2", "e3"]
    assert other == ["e4"]
    assert retried == ["e1", "e2", "e3"]


def test_concurrent_claims_of_one_event_give_it_to_exactly_one_workflow(store: ClaimsStore):
    async def race() -> list[list[str]]:
        return await asyncio.gather(*(store.claim(f"enrich-{n}", ["same"]) for n in range(8)))

    owners = asyncio.run(race())
    assert sorted(map(len, owners)) == [0] * 7 + [1]
