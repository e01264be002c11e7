"""The durations both load generators take on their command lines."""

from __future__ import annotations

import argparse

import pytest

from loadgen.durations import duration_argument, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("60", 60), ("90s", 90), ("1.5m", 90), ("2h", 7200), ("500ms", 0.5), (" 10 s ", 10)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "0", "0s", "-5s", "5d", "1e3"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_as_an_argparse_type_a_bad_duration_reads_as_its_own_message():
    assert duration_argument("5m") == 300
    with pytest.raises(argparse.ArgumentTypeError, match="not a duration: 'soon'"):
        duration_argument("soon")
