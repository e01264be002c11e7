"""Durations as both load generators' command lines take them: "90", "90s", "1.5m", "2h",
"500ms"."""

from __future__ import annotations

import argparse
import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in `text`; a bare number is seconds. Raises ValueError unless positive."""
    match = _DURATION.match(text)
    if not match or float(match[1]) <= 0:
        raise ValueError(f"not a duration: {text!r} (say e.g. 60s, 5m, 1h)")
    return float(match[1]) * _UNITS[match[2] or "s"]


def duration_argument(text: str) -> float:
    """`parse_duration` as an argparse type, so a bad value reads as its own message."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
