"""JSON log lines for every service, rendered by structlog from the stdlib `logging` records.

Each line is one JSON object: `ts` (UTC, ISO 8601), `level`, `logger`, `message`, the
fields a call passes as `extra={"fields": {...}}` (ids such as `request_id`, `event_id`,
`workflow_id`), and `error` with the traceback when there is one. Nothing else of a
record is written: a service decides field by field what reaches its logs, so bodies and
secrets never do by accident.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# The keyword under which a call passes its fields: log.info("...", extra={FIELDS: {...}}).
FIELDS = "fields"


def _record_fields(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    record: logging.LogRecord | None = event_dict.get("_record")
    if record is not None:
        event_dict.update(getattr(record, FIELDS, None) or {})
    return event_dict


def _rename(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event_dict["message"] = event_dict.pop("event", "")
    if "exception" in event_dict:
        event_dict["error"] = event_dict.pop("exception")
    return event_dict


def json_formatter() -> logging.Formatter:
    """A stdlib formatter that writes each record as one JSON line."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            _record_fields,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _rename,
            structlog.processors.JSONRenderer(default=str),
        ],
    )


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a record is emitted (a test may swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_json_logging(level: int = logging.INFO) -> None:
    """The process's root logger writes JSON lines to stderr (idempotent)."""
    root = logging.getLogger()
    if not any(getattr(h, "paystream_json", False) for h in root.handlers):
        handler = StderrHandler()
        handler.setFormatter(json_formatter())
        handler.paystream_json = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
