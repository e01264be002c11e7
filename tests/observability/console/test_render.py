"""The one number format, the sparklines and the JSON of the view."""

from __future__ import annotations

import json
import math

import pytest

from flink_jobs.normalization_job import NORMALIZATION_JOB
from observability.console import gather, render
from observability.console.gather import Figure, Unavailable, Unit
from tests.observability.console.fakes import NOW


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (7.0, "7"),
        (1234, "1,234"),
        (12_345_678, "12,345,678"),
        (1234.56, "1,235"),
        (12.345, "12.3"),
        (2.5, "2.5"),
        (1.0 / 3, "0.333"),
        (0.016666666666666666, "0.0167"),
        (0.5, "0.5"),
        (-3.25, "-3.25"),
        (1e-9, "0.000000001"),
        (math.nan, "n/a"),
        (math.inf, "n/a"),
    ],
)
def test_format_number(value, text):
    assert render.format_number(value) == text


@pytest.mark.parametrize(
    ("figure", "text"),
    [
        (Figure("k", None), "—"),
        (Figure("k", 1500), "1,500"),
        (Figure("k", 2.5, Unit.PER_SECOND), "2.5 /s"),
        (Figure("k", 0.1234, Unit.SHARE), "12.3 %"),
        (Figure("k", math.nan, Unit.SHARE), "n/a"),
        (Figure("k", 850, Unit.MILLISECONDS), "850 ms"),
        (Figure("k", 1_750_000_000.9, Unit.INSTANT), "2025-06-15 15:06:40 UTC"),
    ],
)
def test_format_figure(figure, text):
    assert render.format_figure(figure) == text


@pytest.mark.parametrize("value", [0, 120, 0.016666666666666666, 1 / 3, 1e-12, 2**52 + 1])
def test_figure_value_is_the_exact_value(value):
    assert float(render.figure_value(Figure("k", value))) == value
    assert render.figure_value(Figure("k", None)) == ""
    assert render.figure_value(Figure("k", math.nan)) == "nan"


def test_a_sparkline_spans_its_box_oldest_left_highest_up():
    points = render.sparkline_points(((0, 1.0), (30, 3.0), (60, 2.0)))
    xy = [tuple(map(float, p.split(","))) for p in points.split()]
    assert [x for x, _ in xy] == [0.0, 60.0, 120.0]
    assert xy[1][1] == 1.0 and xy[0][1] == render.SPARKLINE_HEIGHT - 1  # high up, low down
    assert xy[0][1] > xy[2][1] > xy[1][1]


def test_a_sparkline_of_a_constant_is_flat_and_of_too_little_is_nothing():
    flat = render.sparkline_points(((0, 5.0), (10, 5.0), (20, 5.0)))
    assert len({p.split(",")[1] for p in flat.split()}) == 1
    assert render.sparkline_points(((0, 5.0),)) == ""
    assert render.sparkline_points(((0, math.nan), (10, 1.0))) == ""
    assert render.sparkline_points(()) == ""


def test_the_json_has_every_figure_by_key_and_no_nan(sources, console_settings):
    view = gather.gather_view(sources, console_settings, now=NOW)
    body = json.loads(json.dumps(render.view_json(view), allow_nan=False))

    assert list(body["metrics"]) == [f.key for f in view.figures()]
    assert body["metrics"]["quarantine-share:normalization"] is None  # NaN in Prometheus
    assert body["metrics"]["enrichment-rows"] == 100
    assert body["evaluated_at"] == view.evaluated_at
    assert body["sections"]["flink"]["not_submitted"] == [NORMALIZATION_JOB.name]
    links = [link["name"] for link in body["links"]]
    assert links == ["Flink", "Temporal", "Dagster", "Prometheus"]


def test_the_json_says_which_section_is_unavailable(sources, console_settings):
    from dataclasses import replace

    view = replace(
        gather.gather_view(sources, console_settings, now=NOW),
        enrichment=Unavailable("Trino refused the connection"),
    )
    body = render.view_json(view)
    assert body["sections"]["enrichment"] == {"unavailable": "Trino refused the connection"}
    assert "enrichment-rows" not in body["metrics"]
