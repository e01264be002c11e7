"""`python -m gateway [--env-file gateway/dev.env]`: the gateway under uvicorn, on
GATEWAY_HOST:GATEWAY_PORT (127.0.0.1:8000), with uvloop and httptools.

Variables set in the environment win over the env file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from gateway.main import create_app
from gateway.settings import GatewaySettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway", description=__doc__)
    parser.add_argument("--env-file", type=Path, help="KEY=VALUE lines, e.g. gateway/dev.env")
    args = parser.parse_args(argv)
    if args.env_file is not None and not args.env_file.is_file():
        parser.error(f"no such env file: {args.env_file}")
    settings = GatewaySettings(_env_file=args.env_file)  # type: ignore[call-arg]
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,  # the gateway logs one JSON line per request itself
    )


if __name__ == "__main__":
    main()
