"""The gateway's structured logs: JSON lines (observability.logs) to stderr.

Only the fields passed in `extra={"fields": {...}}` are written: never bodies or secrets.
"""

from __future__ import annotations

import logging

from observability.logs import StderrHandler, json_formatter

LOGGER_NAME = "gateway"


def gateway_logger() -> logging.Logger:
    """The gateway's logger, writing JSON lines to stderr (set up once per process)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h, StderrHandler) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(json_formatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger
