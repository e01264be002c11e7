"""An app under a real uvicorn server on a free port, in a thread of the test process:
for what only a real HTTP connection shows (a stalled body, requests at the same time)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(app: FastAPI) -> Iterator[tuple[str, int]]:
    """(host, port) of the running app, until the block ends (its lifespan runs too)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(15)


def stalled_request(host: str, port: int, path: str, declared: int, sent: bytes) -> socket.socket:
    """A POST that announces `declared` bytes of body, sends `sent` and then nothing more."""
    connection = socket.create_connection((host, port), timeout=10)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    )
    connection.sendall(head.encode() + sent)
    return connection


def status_line(connection: socket.socket, timeout: float) -> str:
    """The first line of the answer, or '' when none came within `timeout`."""
    connection.settimeout(timeout)
    received = b""
    try:
        while b"\r\n" not in received:
            chunk = connection.recv(4096)
            if not chunk:
                break
            received += chunk
    except TimeoutError:
        pass
    return received.split(b"\r\n", 1)[0].decode(errors="replace")
