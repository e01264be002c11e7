"""`python -m inference`: the service under uvicorn on INFERENCE_HOST:INFERENCE_PORT."""

from __future__ import annotations

import uvicorn

from inference.main import create_app
from inference.settings import InferenceSettings
from observability.logs import configure_json_logging


def main() -> None:
    # JSON lines like every service; uvicorn's own loggers (server, access) propagate to it.
    configure_json_logging()
    settings = InferenceSettings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)


if __name__ == "__main__":
    main()
