"""An open-loop HTTP/1.1 load generator: `python -m bench.openloop '<json spec>'`.

Requests are sent on a schedule fixed by the clock (request i at start + i / rate), each
on its own task, whatever the server is doing; latency is measured from the *scheduled*
time, so a server that falls behind shows its queueing in the latency instead of slowing
the generator down (coordinated omission). It speaks raw HTTP/1.1 on keep-alive
connections over asyncio (uvloop when installed) to keep its own cost low, and reports
its CPU use and how late it sent, so a saturated client can be told from a slow server.
Prints one JSON object to stdout.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.results import summarise
from gateway.providers.stripe import sign_stripe

REQUEST_TIMEOUT = 10.0
# uvicorn closes a keep-alive connection after 5 s idle (--timeout-keep-alive). A pooled
# connection idle for longer than this is closed rather than reused, or the server's close
# races the next request on it and fails it (IncompleteReadError) for no fault of the app.
MAX_IDLE_SECONDS = 2.0


@dataclass(frozen=True)
class Spec:
    host: str
    port: int
    path: str
    rate: float
    seconds: float
    max_connections: int
    # "stripe": signed Stripe webhooks with this secret; "plain": a fixed JSON body.
    kind: str = "stripe"
    secret: str = ""


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    send_lag_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    last_done: float = 0.0


def stripe_body(n: int) -> bytes:
    """A payment_intent.succeeded event shaped as Stripe sends it, with its own ids."""
    created = int(time.time())
    event = {
        "id": f"evt_bench{n:016d}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "type": "payment_intent.succeeded",
        "account": f"acct_bench{n % 50:04d}",
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": f"req_bench{n}", "idempotency_key": None},
        "data": {
            "object": {
                "id": f"pi_bench{n:016d}",
                "object": "payment_intent",
                "amount": 1000 + n % 90_000,
                "amount_received": 1000 + n % 90_000,
                "currency": "usd",
                "customer": f"cus_bench{n % 997}",
                "status": "succeeded",
                "payment_method_types": ["card"],
                "created": created,
                "metadata": {"order_id": f"order_{n}"},
            }
        },
    }
    return json.dumps(event, separators=(",", ":")).encode()


def build_request(spec: Spec, n: int) -> bytes:
    body = stripe_body(n)
    headers = [
        f"POST {spec.path} HTTP/1.1",
        f"Host: {spec.host}:{spec.port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        f"X-Request-Id: bench{n:016x}",
    ]
    if spec.kind == "stripe":
        signed = sign_stripe(body, (spec.secret,), int(time.time()))
        headers += [f"{name}: {value}" for name, value in signed.items()]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.idle_since = time.monotonic()

    async def exchange(self, request: bytes) -> tuple[int, bool]:
        """Sends one request; returns the status and whether the connection stays open."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, keep, chunked = 0, True, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value
            elif name == "connection" and value == "close":
                keep = False
        if chunked:
            await self.skip_chunks()
        elif length:
            await self.reader.readexactly(length)
        return status, keep

    async def skip_chunks(self) -> None:
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await self.reader.readexactly(size + 2)  # the chunk and its CRLF
            if size == 0:
                return

    def close(self) -> None:
        self.writer.close()


class Pool:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.idle: list[Connection] = []
        self.opened = 0
        self.freed = asyncio.Condition()

    async def acquire(self) -> Connection:
        async with self.freed:
            while True:
                while not self.idle and self.opened >= self.spec.max_connections:
                    await self.freed.wait()
                if not self.idle:
                    self.opened += 1
                    break
                connection = self.idle.pop()
                if time.monotonic() - connection.idle_since <= MAX_IDLE_SECONDS:
                    return connection
                connection.close()  # the server may be closing it: never reuse it
                self.opened -= 1
        try:
            return Connection(*await asyncio.open_connection(self.spec.host, self.spec.port))
        except OSError:
            await self.release(None)
            raise

    async def release(self, connection: Connection | None) -> None:
        async with self.freed:
            if connection is None:
                self.opened -= 1
            else:
                connection.idle_since = time.monotonic()
                self.idle.append(connection)
            self.freed.notify()


async def fire(pool: Pool, spec: Spec, n: int, scheduled: float, tally: Tally) -> None:
    request = build_request(spec, n)
    connection: Connection | None = None
    try:
        connection = await asyncio.wait_for(pool.acquire(), REQUEST_TIMEOUT)
        tally.send_lag_ms.append((time.perf_counter() - scheduled) * 1000)
        status, keep = await asyncio.wait_for(connection.exchange(request), REQUEST_TIMEOUT)
        tally.statuses[str(status)] += 1
        now = time.perf_counter()
        tally.latencies_ms.append((now - scheduled) * 1000)
        tally.last_done = now
        if not keep:
            connection.close()
            connection = None
        await pool.release(connection)
    except Exception as exc:  # any failure is one failed request, never a lost task
        tally.statuses[type(exc).__name__] += 1
        if connection is not None:
            connection.close()
            await pool.release(None)


async def drive(spec: Spec) -> dict[str, Any]:
    pool, tally = Pool(spec), Tally()
    total = int(spec.rate * spec.seconds)
    tasks: set[asyncio.Task[None]] = set()
    started = time.perf_counter()
    index = 0
    while index < total:
        now = time.perf_counter()
        # Start every request whose time has come; then sleep until the next one is due.
        while index < total and started + index / spec.rate <= now:
            task = asyncio.create_task(fire(pool, spec, index, started + index / spec.rate, tally))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            index += 1
        if index < total:
            await asyncio.sleep(max(0.0, started + index / spec.rate - time.perf_counter()))
    scheduled_seconds = time.perf_counter() - started
    if tasks:
        await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT * 2)
    for connection in pool.idle:
        connection.close()
    ok = sum(n for status, n in tally.statuses.items() if status.startswith("2"))
    span = (tally.last_done - started) if tally.last_done else scheduled_seconds
    return {
        "target_rate": spec.rate,
        "requests": total,
        "ok": ok,
        "errors": total - ok,
        "statuses": dict(tally.statuses),
        "achieved_rate": ok / span if span > 0 else 0.0,
        "latency_ms": summarise(tally.latencies_ms),
        "send_lag_ms": summarise(tally.send_lag_ms),
        "connections": pool.opened,
        "wall_seconds": time.perf_counter() - started,
    }


def main(argv: list[str]) -> int:
    spec = Spec(**json.loads(argv[0]))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    wall = time.monotonic()
    result = asyncio.run(drive(spec))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["client_cpu_percent"] = (
        100 * (usage.ru_utime + usage.ru_stime) / (time.monotonic() - wall)
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
