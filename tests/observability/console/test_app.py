"""The console's routes through the real app (FastAPI TestClient) on faked sources: the page
carries every figure once under its key, escapes what the platform stores, and answers 200
with each section that cannot be read saying why."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from contracts.topics import TOPIC_NAMES
from observability.console import gather, render
from observability.console.app import create_app
from observability.console.settings import ConsoleSettings
from tests.observability.console.fakes import (
    LONG_PAYLOAD,
    flink_down,
    prometheus_down,
    trino_down,
)


class Page(HTMLParser):
    """What a reader of the page gets: its figures, sections, links and text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.metrics: dict[str, tuple[str, str]] = {}  # key -> (data-value, text)
        self.duplicates: list[str] = []
        self.unavailable: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.attributes: dict[str, dict[str, str | None]] = {}
        self.tags: list[str] = []
        self._open: tuple[str, str] | None = None  # (what, key) collecting text
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        self.attributes.setdefault(tag, found)
        if "data-metric" in found:
            self._open = ("metric", found["data-metric"] or "")
            self._value = found.get("data-value") or ""
        elif "data-unavailable" in found:
            self._open = ("unavailable", found["data-unavailable"] or "")
        elif "data-link" in found:
            self.links[found["data-link"] or ""] = found.get("href") or ""
        self._text = []

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is None:
            return
        what, key = self._open
        text = "".join(self._text)
        if what == "metric":
            if key in self.metrics:
                self.duplicates.append(key)
            self.metrics[key] = (self._value, text)
        else:
            self.unavailable[key] = text
        self._open = None


@pytest.fixture
def client(sources, console_settings) -> Iterator[TestClient]:
    with TestClient(create_app(console_settings, sources)) as test_client:
        yield test_client


def test_the_page_shows_every_figure_once_under_its_key(client: TestClient):
    answer = client.get("/")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    page = Page(answer.text)
    view = client.get("/api/view").json()

    assert page.duplicates == []
    assert list(page.metrics) == list(view["metrics"])
    assert page.unavailable == {}
    charges = f"rate:{next(iter(TOPIC_NAMES))}"
    assert page.metrics[charges] == ("2.5", "2.5 /s")
    assert page.metrics["quarantine-share:normalization"] == ("nan", "n/a")
    assert page.metrics["enrichment-fallback"] == ("7.0", "7")
    assert page.metrics[f"rate:{TOPIC_NAMES[-1]}"] == ("", render.NO_DATA)


def test_the_page_says_when_its_prometheus_values_were_evaluated(client: TestClient):
    page = Page(client.get("/").text)
    evaluated_at = page.attributes["body"]["data-evaluated-at"]
    assert evaluated_at is not None and evaluated_at.isdigit()
    assert float(evaluated_at) == client.get("/api/view").json()["evaluated_at"]


def test_every_stage_and_quarantine_table_is_listed(client: TestClient):
    html = client.get("/").text
    for topic in TOPIC_NAMES:
        assert f'data-topic="{topic}"' in html
    for table, _ in gather.quarantine_tables():
        assert f'data-table="{table}"' in html


def test_a_payload_is_shown_as_text_cut_short(client: TestClient):
    html = client.get("/").text
    assert "<script>" not in html
    shown = LONG_PAYLOAD[: gather.PAYLOAD_CHARS].replace("<", "&lt;").replace(">", "&gt;")
    assert shown.replace('"', "&#34;") + "…" in html


def test_the_page_links_every_ui(client: TestClient, console_settings: ConsoleSettings):
    assert Page(client.get("/").text).links == {
        "Flink": console_settings.flink_url,
        "Temporal": console_settings.temporal_ui_url,
        "Dagster": console_settings.dagster_url,
        "Prometheus": console_settings.prometheus_url,
    }


def test_with_every_source_down_each_section_says_why_and_the_page_answers(
    sources, console_settings
):
    down = replace(sources, prometheus=prometheus_down(), flink=flink_down(), trino=trino_down)
    with TestClient(create_app(console_settings, down)) as client:
        answer = client.get("/")
        view = client.get("/api/view")
    assert (answer.status_code, view.status_code) == (200, 200)
    page = Page(answer.text)
    assert set(page.unavailable) == {
        "alerts",
        "stages",
        "groups",
        "flink",
        "quarantine_shares",
        "quarantine_tables",
        "top_reasons",
        "newest_quarantined",
        "enrichment",
    }
    assert all(text.startswith("unavailable: ") for text in page.unavailable.values())
    assert "Connection refused" in page.unavailable["flink"]
    assert list(page.metrics) == ["sparkline-minutes"]
    assert view.json()["sections"]["stages"]["unavailable"]


def test_healthz_answers_whatever_the_sources(sources, console_settings):
    down = replace(sources, prometheus=prometheus_down(), flink=flink_down(), trino=trino_down)
    with TestClient(create_app(console_settings, down)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}


def test_the_page_refreshes_itself_only_when_asked(sources, console_settings):
    with TestClient(create_app(replace_refresh(console_settings, 15), sources)) as client:
        assert '<meta http-equiv="refresh" content="15">' in client.get("/").text
    with TestClient(create_app(console_settings, sources)) as client:
        assert 'http-equiv="refresh"' not in client.get("/").text


def replace_refresh(settings: ConsoleSettings, seconds: int) -> ConsoleSettings:
    return settings.model_copy(update={"refresh_seconds": seconds})
