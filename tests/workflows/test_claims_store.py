"""The claims table on the platform's PostgreSQL: the first workflow to claim an event_id
owns it for good, and the same workflow finds its claims again when it retries."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

from workflows.claims_store import ClaimsStore, drop_claims_table, ensure_claims_table
from workflows.pg_tables import Connections
from workflows.settings import WorkflowSettings

pytestmark = pytest.mark.integration

T = TypeVar("T")
Scenario = Callable[[ClaimsStore], Awaitable[T]]


@pytest.fixture
def run_with_store() -> Iterator[Callable[[Scenario], object]]:
    """Runs a scenario with a store on a table of its own, in one event loop (the
    connection pool belongs to the loop that opened it)."""
    dsn, table = WorkflowSettings().postgres_dsn, f"it_claims_{uuid.uuid4().hex[:8]}"
    ensure_claims_table(dsn, table)
    ensure_claims_table(dsn, table)  # a second worker starting finds it there

    def run(scenario: Scenario) -> object:
        async def with_store() -> object:
            connections = Connections(dsn)
            try:
                return await scenario(ClaimsStore(connections, table))
            finally:
                await connections.close()

        return asyncio.run(with_store())

    try:
        yield run
    finally:
        drop_claims_table(dsn, table)


def test_first_claim_wins_and_a_retry_owns_its_claims_again(run_with_store) -> None:
    async def scenario(store: ClaimsStore) -> tuple[list[str], list[str], list[str]]:
        first = await store.claim("enrich-a", ["e1", "e2", "e3"])
        other = await store.claim("enrich-b", ["e3", "e4", "e2"])
        retried = await store.claim("enrich-a", ["e1", "e2", "e3"])
        return first, other, retried

    first, other, retried = run_with_store(scenario)
    assert first == ["e1", "e2", "e3"]
    assert other == ["e4"]
    assert retried == ["e1", "e2", "e3"]


def test_concurrent_claims_of_one_event_give_it_to_exactly_one_workflow(run_with_store) -> None:
    async def race(store: ClaimsStore) -> list[list[str]]:
        return await asyncio.gather(*(store.claim(f"enrich-{n}", ["same"]) for n in range(8)))

    owners = run_with_store(race)
    assert sorted(map(len, owners)) == [0] * 7 + [1]
