"""`python -m gateway [--env-file gateway/dev.env]`: the gateway under uvicorn, on
GATEWAY_HOST:GATEWAY_PORT (127.0.0.1:8000), with uvloop and httptools, in GATEWAY_WORKERS
processes (2) sharing the port.

Variables set in the environment win over the env file. Each worker builds the app
`gateway.main:app` from the environment, so the file's values are put there first (only
those not set already); with more than one worker the Prometheus metrics go to files
under GATEWAY_METRICS_DIR (.run/gateway/metrics), emptied here, which /metrics sums.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from dotenv import load_dotenv

from gateway.metrics import prepare_multiprocess_dir
from gateway.settings import GatewaySettings

APP = "gateway.main:app"


def uvicorn_options(settings: GatewaySettings) -> dict[str, object]:
    return {
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "loop": "uvloop",
        "http": "httptools",
        # Only refusals are logged, by the gateway itself (gateway.routers.webhooks).
        "access_log": False,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway", description=__doc__)
    parser.add_argument("--env-file", type=Path, help="KEY=VALUE lines, e.g. gateway/dev.env")
    args = parser.parse_args(argv)
    if args.env_file is not None:
        if not args.env_file.is_file():
            parser.error(f"no such env file: {args.env_file}")
        load_dotenv(args.env_file, override=False)
    settings = GatewaySettings()  # refuses bad settings here, before any worker starts
    if settings.workers > 1:
        prepare_multiprocess_dir(settings.metrics_dir)
    uvicorn.run(APP, **uvicorn_options(settings))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
