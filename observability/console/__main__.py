"""`python -m observability.console`: the console under uvicorn on 127.0.0.1:CONSOLE_PORT."""

from __future__ import annotations

import logging

import uvicorn

from observability.console.app import create_app
from observability.console.settings import HOST, ConsoleSettings
from observability.logs import configure_json_logging


def main() -> None:
    # JSON lines like every service; uvicorn's own loggers (server, access) propagate to it.
    configure_json_logging()
    # Each page asks Prometheus and Flink about fifteen times: the access line is enough.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = ConsoleSettings()
    uvicorn.run(create_app(settings), host=HOST, port=settings.port, log_config=None)


if __name__ == "__main__":
    main()
