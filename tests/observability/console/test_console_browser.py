"""The console in a real browser (headless Chromium driven by Selenium) on the running
platform (`make up`; no Flink job need run): every number it shows is what Prometheus and
Trino say, it lists every contract topic and quarantine table, and links every UI.

The test runs its own console (uvicorn in a thread, on a free loopback port) against the
platform's Prometheus and Flink, and against Trino on a namespace of its own, whose
quarantine and enrichment tables it fills with known rows: their counts, reasons and newest
rows stay what they are whatever load the platform is under, and nothing depends on what
other runs left. Prometheus values are compared at the page's `data-evaluated-at` instant.
A screenshot of the page is saved to .run/screenshots/console.png.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.paths import RUN_DIR
from contracts.reasons import Reason
from contracts.tables import ENRICHMENT_TABLE
from contracts.topics import TOPIC_NAMES
from deploy.flink.flink_rest import FlinkRest
from deploy.local.readiness import NotReady, prometheus_ready
from deploy.local.settings import StackSettings
from flink_jobs.registry import registered_jobs
from lakehouse.settings import LakehouseSettings
from lakehouse.tables import ensure_tables
from observability.console import gather
from observability.console.app import create_app
from observability.console.settings import ConsoleSettings
from observability.prometheus import PrometheusClient
from observability.series import GROUP_LAG, QUARANTINE_SHARE, TOPIC_RATE, Pipeline
from tests.dbt.lakehouse_io import insert_rows
from tests.gateway.serving import served
from workflows.scoring import FALLBACK, MODEL

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = RUN_DIR / "screenshots" / "console.png"
PAGE_WIDTH = 1400

QUARANTINE_TABLES = [table for table, _ in gather.quarantine_tables()]
# Six reasons over 1 + 2 + ... + 6 = 21 rows: counts 4, 4, 4, 3, 3, 3, so the top five
# includes a tie the console must break as Trino's ORDER BY does (by reason).
REASONS = [
    Reason.MISSING_CURRENCY,
    Reason.INVALID_AMOUNT,
    Reason.MISSING_STATUS,
    Reason.INVALID_TIMESTAMP,
    Reason.MALFORMED_JSON,
    Reason.INVALID_CURRENCY,
]
FIRST_QUARANTINED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
# The newest row's payload: longer than the page shows, and markup that must stay text.
MARKUP_PAYLOAD = '{"note": "<b>bold</b> & <i>more</i>", "pad": "' + "y" * 200 + '"}'
ENRICHMENTS, FALLBACKS = 5, 2


@dataclass(frozen=True)
class Arranged:
    """The rows the test wrote, as the console should count them."""

    namespace: str
    rows_per_table: dict[str, int]
    reasons: list[tuple[str, int]]  # the top five, as the console orders them
    newest: list[tuple[str, datetime, str, str]]  # table, time, reason, payload (full)


def quarantine_rows() -> dict[str, list[dict[str, Any]]]:
    """Table k gets k + 1 rows; their times are shuffled over the tables (8 is prime to
    21), so the newest rows come from several of them. The newest carries the markup."""
    rows: dict[str, list[dict[str, Any]]] = {}
    n = 0
    for position, table in enumerate(QUARANTINE_TABLES):
        rows[table] = []
        for _ in range(position + 1):
            reason = REASONS[n % len(REASONS)]
            rows[table].append(
                {
                    "raw_payload": f'{{"row": {n}}}',
                    "rejection_reason": reason.value,
                    "rejection_reasons": [reason.value],
                    "quarantine_timestamp": FIRST_QUARANTINED + timedelta(seconds=8 * n % 21),
                    "kafka_topic": TOPIC_NAMES[0],
                    "kafka_partition": 0,
                    "kafka_offset": n,
                }
            )
            n += 1
    newest = max((r for rs in rows.values() for r in rs), key=lambda r: r["quarantine_timestamp"])
    newest["raw_payload"] = MARKUP_PAYLOAD
    return rows


def enrichment_rows() -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"evt_console_{n}",
            "fraud_score": 0.5,
            "risk_level": "medium",
            "churn_score": 0.5,
            "model_version": "console-test",
            "score_source": FALLBACK if n < FALLBACKS else MODEL,
            "workflow_id": f"wf-console-{n}",
            "enriched_at": FIRST_QUARANTINED,
        }
        for n in range(ENRICHMENTS)
    ]


@pytest.fixture(scope="module")
def arranged(catalog, lakehouse_settings: LakehouseSettings) -> Iterator[Arranged]:
    namespace = f"it_console_{uuid.uuid4().hex[:8]}"
    trino = gather.trino_query(lakehouse_settings)

    def insert(table: str, rows: list[dict[str, Any]]) -> None:
        insert_rows(trino, f"{lakehouse_settings.catalog_name}.{namespace}.{table}", rows)

    try:
        ensure_tables(catalog, namespace)
        rows = quarantine_rows()
        for table, table_rows in rows.items():
            insert(table, table_rows)
        insert(ENRICHMENT_TABLE, enrichment_rows())
        every = [(table, row) for table, table_rows in rows.items() for row in table_rows]
        counted = Counter(row["rejection_reason"] for _, row in every)
        newest = sorted(every, key=lambda tr: tr[1]["quarantine_timestamp"], reverse=True)
        yield Arranged(
            namespace=namespace,
            rows_per_table={table: len(table_rows) for table, table_rows in rows.items()},
            reasons=sorted(counted.items(), key=lambda rc: (-rc[1], rc[0]))[: gather.TOP_REASONS],
            newest=[
                (t, r["quarantine_timestamp"], r["rejection_reason"], r["raw_payload"])
                for t, r in newest[: gather.NEWEST_ROWS]
            ],
        )
    finally:
        if catalog.namespace_exists(namespace):
            for identifier in catalog.list_tables(namespace):
                catalog.purge_table(identifier)
            catalog.drop_namespace(namespace)


@pytest.fixture(scope="module")
def platform_prometheus(stack_settings: StackSettings, lakehouse_settings: LakehouseSettings):
    try:
        prometheus_ready(stack_settings, lakehouse_settings)
    except NotReady as exc:
        pytest.fail(f"Prometheus is not running ({exc}): use `make test-integration`")
    return PrometheusClient(f"http://127.0.0.1:{stack_settings.prometheus_port}")


@pytest.fixture(scope="module")
def platform_console(
    stack_settings: StackSettings, lakehouse_settings: LakehouseSettings, arranged: Arranged
) -> ConsoleSettings:
    return ConsoleSettings(
        prometheus_url=f"http://127.0.0.1:{stack_settings.prometheus_port}",
        flink_url=f"http://127.0.0.1:{stack_settings.flink_rest_port}",
        temporal_ui_url=f"http://127.0.0.1:{stack_settings.temporal_ui_port}",
        refresh_seconds=0,  # the page must not reload while it is read
        lakehouse=lakehouse_settings.model_copy(update={"namespace": arranged.namespace}),
    )


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed in .venv: run `make setup`")
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(f"{CHROMIUM} or {CHROMEDRIVER} missing (Debian's chromium, chromium-driver)")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace to sandbox in
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={PAGE_WIDTH},1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@dataclass(frozen=True)
class Shown:
    """What the page showed, read once through the browser."""

    evaluated_at: float
    metrics: dict[str, tuple[str, str]]  # key -> (data-value, visible text)
    unavailable: dict[str, str]
    links: dict[str, str]
    topics: list[str]
    groups: list[str]
    tables: list[str]
    reasons: list[str]
    jobs: list[str]
    not_submitted: str
    payloads: list[str]
    newest: list[tuple[str, str]]  # table, reason of each newest row
    markup_inside_payloads: int
    api_metrics: dict[str, float | None]


def read_page(browser, base_url: str) -> Shown:
    """Loads the page and reads what a person would see on it, then its JSON."""
    from selenium.webdriver.common.by import By

    def elements(selector: str) -> list[Any]:
        return browser.find_elements(By.CSS_SELECTOR, selector)

    def attribute(selector: str, name: str) -> list[str]:
        return [e.get_attribute(name) or "" for e in elements(selector)]

    browser.get(f"{base_url}/")
    body = browser.find_element(By.TAG_NAME, "body")
    return Shown(
        evaluated_at=float(body.get_attribute("data-evaluated-at") or "nan"),
        metrics={
            e.get_attribute("data-metric"): (e.get_attribute("data-value") or "", e.text)
            for e in elements("[data-metric]")
        },
        unavailable={
            e.get_attribute("data-unavailable"): e.text for e in elements("[data-unavailable]")
        },
        links={
            e.get_attribute("data-link"): e.get_attribute("href") or ""
            for e in elements("[data-link]")
        },
        topics=attribute("[data-topic]", "data-topic"),
        groups=attribute("[data-group]", "data-group"),
        tables=attribute("[data-table]", "data-table"),
        reasons=attribute("[data-reason]", "data-reason"),
        jobs=attribute("[data-job]", "data-job"),
        not_submitted=" ".join(e.text for e in elements("[data-not-submitted]")),
        payloads=[e.text for e in elements("[data-payload]")],
        newest=[
            (
                row.find_element(By.CSS_SELECTOR, "td:nth-child(1)").text,
                row.find_element(By.CSS_SELECTOR, "td:nth-child(3)").text,
            )
            for row in elements("tr[data-quarantined]")
        ],
        markup_inside_payloads=len(elements("[data-payload] *")),
        api_metrics=httpx.get(f"{base_url}/api/view", timeout=60).json()["metrics"],
    )


def save_screenshot(browser, path: Path) -> None:
    """The whole page, not only the window's height."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    # The window is a little taller than the page it shows (its frame, a scrollbar).
    browser.set_window_size(PAGE_WIDTH, max(int(height) + 200, 800))
    path.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(path)), f"no screenshot saved to {path}"


@pytest.fixture(scope="module")
def shown(browser, platform_console: ConsoleSettings, platform_prometheus) -> Shown:
    with served(create_app(platform_console)) as (host, port):
        page = read_page(browser, f"http://{host}:{port}")
        save_screenshot(browser, SCREENSHOT)
    return page


def same(shown_value: str, expected: float | None) -> bool:
    """The page's `data-value` is the source's value exactly (NaN is NaN, none is none)."""
    if expected is None:
        return shown_value == ""
    if math.isnan(expected):
        return shown_value == "nan"
    return shown_value != "" and float(shown_value) == expected


def prometheus_at(prometheus: PrometheusClient, promql: str, label: str, at: float) -> dict:
    return {s.labels.get(label, ""): s.value for s in prometheus.query(promql, at=at)}


# -- every section answers ----------------------------------------------------------------


def test_every_section_answers(shown: Shown):
    assert shown.unavailable == {}


def test_the_page_lists_every_contract_topic_group_and_quarantine_table(shown: Shown):
    assert shown.topics == list(TOPIC_NAMES)
    assert shown.groups == list(gather.watched_groups())
    assert shown.tables == QUARANTINE_TABLES
    for topic in TOPIC_NAMES:
        assert f"rate:{topic}" in shown.metrics
    for pipeline in Pipeline:
        assert f"quarantine-share:{pipeline.value}" in shown.metrics


def test_the_page_links_every_ui(shown: Shown, platform_console: ConsoleSettings):
    def norm(url: str) -> str:
        return url.rstrip("/")

    assert {name: norm(url) for name, url in shown.links.items()} == {
        "Flink": norm(platform_console.flink_url),
        "Temporal": norm(platform_console.temporal_ui_url),
        "Dagster": norm(platform_console.dagster_url),
        "Prometheus": norm(platform_console.prometheus_url),
    }


def test_the_json_has_the_pages_figures(shown: Shown):
    # A second reading: the same figures; Flink's jobs could change in between, so those
    # are left out of the comparison.
    def stable(keys) -> set[str]:
        return {k for k in keys if not k.startswith("flink-") and not k.startswith("alert-value")}

    assert stable(shown.api_metrics) == stable(shown.metrics)


# -- Prometheus, at the page's instant ----------------------------------------------------


def test_the_evaluation_instant_is_a_moment_ago(shown: Shown, platform_console):
    now = datetime.now(UTC).timestamp()
    assert shown.evaluated_at.is_integer()
    assert 0 < now - shown.evaluated_at < platform_console.evaluation_delay_seconds + 300


def test_each_topics_rate_is_prometheus_at_that_instant(shown: Shown, platform_prometheus):
    rates = prometheus_at(platform_prometheus, TOPIC_RATE, "topic", shown.evaluated_at)
    wrong = {
        topic: (shown.metrics[f"rate:{topic}"], rates.get(topic))
        for topic in TOPIC_NAMES
        if not same(shown.metrics[f"rate:{topic}"][0], rates.get(topic))
    }
    assert wrong == {}


def test_each_groups_lag_is_prometheus_at_that_instant(shown: Shown, platform_prometheus):
    lags = prometheus_at(platform_prometheus, GROUP_LAG, "group", shown.evaluated_at)
    wrong = {
        group: (shown.metrics[f"lag:{group}"], lags.get(group))
        for group in gather.watched_groups()
        if not same(shown.metrics[f"lag:{group}"][0], lags.get(group))
    }
    assert wrong == {}


def test_each_pipelines_quarantine_share_is_prometheus_at_that_instant(
    shown: Shown, platform_prometheus
):
    shares = prometheus_at(platform_prometheus, QUARANTINE_SHARE, "pipeline", shown.evaluated_at)
    wrong = {
        p.value: (shown.metrics[f"quarantine-share:{p.value}"], shares.get(p.value))
        for p in Pipeline
        if not same(shown.metrics[f"quarantine-share:{p.value}"][0], shares.get(p.value))
    }
    assert wrong == {}


def test_the_alerts_are_counted(shown: Shown):
    value, text = shown.metrics["alerts-firing"]
    assert float(value).is_integer() and float(value) >= 0 and text == str(int(float(value)))


# -- Trino, on the arranged namespace -----------------------------------------------------


def test_each_quarantine_tables_rows_are_trinos_count(shown: Shown, arranged: Arranged, trino_rows):
    trino = {
        table: trino_rows(f"SELECT count(*) FROM {arranged.namespace}.{table}")[0][0]
        for table in QUARANTINE_TABLES
    }
    assert trino == arranged.rows_per_table
    assert {t: shown.metrics[f"quarantine-rows:{t}"] for t in QUARANTINE_TABLES} == {
        t: (repr(float(n)), str(n)) for t, n in trino.items()
    }


def test_the_top_reasons_are_trinos(shown: Shown, arranged: Arranged, trino_rows):
    union = " UNION ALL ".join(
        f"SELECT rejection_reason FROM {arranged.namespace}.{table}" for table in QUARANTINE_TABLES
    )
    trino = trino_rows(
        f"SELECT rejection_reason, count(*) FROM ({union}) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5"
    )
    assert [tuple(row) for row in trino] == arranged.reasons
    assert shown.reasons == [reason for reason, _ in arranged.reasons]
    assert [shown.metrics[f"reason-rows:{r}"][1] for r, _ in arranged.reasons] == [
        str(n) for _, n in arranged.reasons
    ]


def test_the_newest_quarantined_rows_are_shown_as_text_cut_short(shown: Shown, arranged: Arranged):
    assert shown.newest == [(table, reason) for table, _, reason, _ in arranged.newest]
    assert len({table for table, _ in shown.newest}) > 1
    assert shown.payloads == [gather.truncate_payload(p) for *_, p in arranged.newest]
    assert shown.payloads[0].startswith('{"note": "<b>bold</b> & <i>more</i>"')
    assert shown.payloads[0].endswith("…") and len(shown.payloads[0]) == gather.PAYLOAD_CHARS + 1
    assert shown.markup_inside_payloads == 0  # the payload's tags stayed text
    times = [float(shown.metrics[f"quarantined-at:{n}"][0]) for n in range(len(arranged.newest))]
    assert times == [moment.timestamp() for _, moment, _, _ in arranged.newest]


def test_the_enrichment_counts_are_trinos(shown: Shown, arranged: Arranged, trino_rows):
    [(rows, fallback)] = trino_rows(
        f"SELECT count(*), count_if(score_source = '{FALLBACK}') "
        f"FROM {arranged.namespace}.{ENRICHMENT_TABLE}"
    )
    assert (rows, fallback) == (ENRICHMENTS, FALLBACKS)
    assert shown.metrics["enrichment-rows"] == (repr(float(rows)), str(rows))
    assert shown.metrics["enrichment-fallback"] == (repr(float(fallback)), str(fallback))


# -- Flink --------------------------------------------------------------------------------


def test_the_flink_jobs_are_the_jobmanagers(shown: Shown, stack_settings: StackSettings):
    with FlinkRest(f"http://127.0.0.1:{stack_settings.flink_rest_port}") as flink:
        names = {job.name for job in flink.jobs()}
    registered = list(registered_jobs())
    assert set(shown.jobs) == names
    assert shown.jobs[: len(names & set(registered))] == [n for n in registered if n in names]
    for name in registered:
        assert (name in shown.not_submitted) == (name not in names)
    for name in shown.jobs:
        assert f"flink-started-at:{name}" in shown.metrics


def test_the_screenshot_was_saved(shown: Shown):
    assert SCREENSHOT.stat().st_size > 10_000
