"""`python -m inference`: the service under uvicorn on INFERENCE_HOST:INFERENCE_PORT."""

from __future__ import annotations

import uvicorn

from inference.main import create_app
from inference.settings import InferenceSettings


def main() -> None:
    settings = InferenceSettings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
