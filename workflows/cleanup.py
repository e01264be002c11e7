"""Ending a task queue's running workflows: the cleanup of a side stream that was run for a
test or a benchmark (recovery workflows outlive the load that started them)."""

from __future__ import annotations

import asyncio
import contextlib

from temporalio.client import Client
from temporalio.service import RPCError


async def terminate_running(address: str, task_queue: str, reason: str) -> int:
    """Terminates the task queue's running workflows; returns how many. The visibility
    store lags a little behind, so it looks again until three looks in a row see none."""
    client = await Client.connect(address)
    query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    terminated = quiet_rounds = 0
    while quiet_rounds < 3:
        running = [execution.id async for execution in client.list_workflows(query)]
        for workflow_id in running:
            with contextlib.suppress(RPCError):  # it may have finished meanwhile
                await client.get_workflow_handle(workflow_id).terminate(reason)
                terminated += 1
        quiet_rounds = 0 if running else quiet_rounds + 1
        await asyncio.sleep(1)
    return terminated
