"""Each source of the console on its own (faked at the HTTP edge), and the whole view when
some of them do not answer."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import sqlglot
from sqlglot import exp

from contracts.events import EVENT_TYPES
from contracts.tables import (
    ENRICHMENT_COLUMNS,
    ENRICHMENT_QUARANTINE_TABLE,
    ENRICHMENT_TABLE,
    UNIFIED_QUARANTINE_TABLE,
)
from contracts.topics import INGESTION_DLQ, STRIPE_RAW, TOPIC_NAMES
from deploy.local.toolbox import flink_consumer_groups
from flink_jobs.enrichment_job import ENRICHMENT_JOB
from flink_jobs.normalization_job import NORMALIZATION_JOB
from flink_jobs.registry import registered_jobs
from flink_jobs.validation_job import CONSUMER_GROUP as VALIDATION_GROUP
from flink_jobs.validation_job import VALIDATION_JOB
from lakehouse.settings import LakehouseSettings
from observability.console import gather
from observability.console.gather import (
    Figure,
    Metric,
    Unavailable,
    Unit,
    Window,
    metric_key,
)
from observability.series import GROUP_LAG, QUARANTINE_SHARE, TOPIC_RATE, Pipeline
from tests.observability.console.conftest import (
    ADHOC_JOB,
    BRIDGE_GROUP,
    CHARGES_TOPIC,
    QUARANTINE_COUNTS,
    TOP_REASONS,
)
from tests.observability.console.fakes import (
    ACK_MS,
    LONG_PAYLOAD,
    NOW,
    FakeFlink,
    FakePrometheus,
    FakeTrino,
    flink_down,
    prometheus_down,
    trino_down,
)
from workflows.scoring import FALLBACK
from workflows.settings import WorkflowSettings

AT = math.floor(NOW - 5)
WINDOW = Window.ending(AT, 15, 61)
QUARANTINE_TABLES = [table for table, _ in gather.quarantine_tables()]


# -- what is watched ----------------------------------------------------------------------


def test_the_quarantine_tables_are_every_contract_quarantine_table_with_its_pipeline():
    assert dict(gather.quarantine_tables()) == {
        **{t.quarantine_table: Pipeline.VALIDATION for t in EVENT_TYPES},
        UNIFIED_QUARANTINE_TABLE: Pipeline.NORMALIZATION,
        ENRICHMENT_QUARANTINE_TABLE: Pipeline.ENRICHMENT,
    }


def test_every_quarantine_table_has_the_columns_the_console_reads():
    read = gather.QUARANTINE_READ_COLUMNS
    assert [t for t in QUARANTINE_TABLES if not gather.has_columns(t, read)] == []
    assert gather.SCORE_SOURCE_COLUMN in dict(ENRICHMENT_COLUMNS)
    assert not gather.has_columns(ENRICHMENT_TABLE, [gather.REASON_COLUMN])


def test_the_watched_groups_are_the_flink_jobs_groups_by_job_and_the_bridges():
    watched = gather.watched_groups()
    assert watched == {**flink_consumer_groups(), WorkflowSettings().consumer_group: gather.BRIDGE}
    assert set(flink_consumer_groups().values()) == set(registered_jobs())


def test_every_contract_topic_has_a_stage():
    stages = {topic: gather.stage_of(topic) for topic in TOPIC_NAMES}
    assert Counter(stages.values()) == {
        "JR raw": len(EVENT_TYPES),
        "webhook raw": 2,
        "dead letters": 1,
        "normalized": 1,
        "enriched": 1,
    }


# -- Prometheus ---------------------------------------------------------------------------


def test_stage_rates_are_every_contract_topic_at_the_evaluation_instant(prometheus: FakePrometheus):
    rows = gather.stage_rates(prometheus.client(), AT, WINDOW)

    assert [row.topic for row in rows] == list(TOPIC_NAMES)
    rates = {row.topic: row.rate for row in rows}
    charges_key = metric_key(Metric.RATE, CHARGES_TOPIC)
    assert rates[CHARGES_TOPIC] == Figure(charges_key, 2.5, Unit.PER_SECOND)
    assert rates[STRIPE_RAW].value == 0.016666666666666666
    assert rates[INGESTION_DLQ].value == 0.0
    # A topic Prometheus has no sample of is shown as no data, not as zero.
    assert [t for t, f in rates.items() if f.value is None] == [
        t for t in TOPIC_NAMES if t not in {CHARGES_TOPIC, STRIPE_RAW, INGESTION_DLQ}
    ]
    history = {row.topic: row.history for row in rows}
    assert history[CHARGES_TOPIC] == ((NOW - 60, 1.0), (NOW - 30, 3.0), (NOW, 2.0))
    assert history[STRIPE_RAW] == ()

    [instant] = prometheus.queries("/api/v1/query")
    assert instant["query"] == TOPIC_RATE and float(instant["time"]) == AT
    [span] = prometheus.queries("/api/v1/query_range")
    assert (float(span["start"]), float(span["end"])) == (AT - 15 * 60, AT)
    assert float(span["step"]) == 15.0


def test_group_lags_are_the_watched_groups_in_order(prometheus: FakePrometheus, groups):
    rows = gather.group_lags(prometheus.client(), AT, WINDOW, groups)

    assert [(row.group, row.reader) for row in rows] == list(groups.items())
    lags = {row.group: row.lag.value for row in rows}
    assert lags == {VALIDATION_GROUP: 120.0, BRIDGE_GROUP: 0.0, rows[1].group: None}
    assert rows[0].lag.key == f"lag:{VALIDATION_GROUP}"
    assert [q["query"] for q in prometheus.queries("/api/v1/query")] == [GROUP_LAG]


def test_quarantine_shares_are_every_pipeline_with_nan_kept(prometheus: FakePrometheus):
    shares = {row.pipeline: row.share for row in gather.quarantine_shares(prometheus.client(), AT)}

    assert list(shares) == list(Pipeline)
    assert shares[Pipeline.VALIDATION] == Figure("quarantine-share:validation", 0.05, Unit.SHARE)
    value = shares[Pipeline.NORMALIZATION].value
    assert value is not None and math.isnan(value)  # 0 of 0 rows: not a share of anything
    assert shares[Pipeline.ENRICHMENT].value is None
    assert float(prometheus.queries("/api/v1/query")[0]["time"]) == AT
    assert prometheus.queries("/api/v1/query")[0]["query"] == QUARANTINE_SHARE


def test_alerts_firing_first_and_counted(prometheus: FakePrometheus):
    found = gather.alerts(prometheus.client())

    assert found.firing == Figure("alerts-firing", 1)
    assert [(a.name, a.state) for a in found.alerts] == [
        ("ConsumerLagGrowing", "firing"),
        ("QuarantineShareHigh", "pending"),
    ]
    assert found.alerts[0].labels == {"group": VALIDATION_GROUP}
    assert found.alerts[0].value == Figure("alert-value:0", 60_000.0)


def test_prometheus_refusing_a_query_raises():
    with pytest.raises(Exception, match="did not answer"):
        gather.stage_rates(prometheus_down(), AT, WINDOW)


# -- Flink --------------------------------------------------------------------------------


def test_flink_jobs_newest_of_each_name_registered_first(flink: FakeFlink):
    found = gather.flink_jobs(flink.client(), list(registered_jobs()))

    assert [(j.name, j.job_id, j.state) for j in found.jobs] == [
        (VALIDATION_JOB.name, "v1", "RUNNING"),
        (ENRICHMENT_JOB.name, "e1", "RUNNING"),
        (ADHOC_JOB, "a1", "FINISHED"),
    ]
    assert found.not_submitted == [NORMALIZATION_JOB.name]

    validation = found.jobs[0]
    assert validation.started_at == Figure(
        f"flink-started-at:{VALIDATION_JOB.name}", 1_749_990_000.0, Unit.INSTANT
    )
    assert validation.last_checkpoint_at.value == ACK_MS / 1000
    assert validation.checkpoint_duration == Figure(
        f"flink-checkpoint-duration:{VALIDATION_JOB.name}", 850.0, Unit.MILLISECONDS
    )
    assert validation.checkpoints_failed.value == 1.0
    assert validation.restarts == Figure(f"flink-restarts:{VALIDATION_JOB.name}", 2.0)
    assert validation.url.endswith("/#/job/running/v1/overview")
    assert found.jobs[2].url.endswith("/#/job/completed/a1/overview")


def test_a_job_without_checkpoints_or_restart_metric_has_no_values(flink: FakeFlink):
    enrichment = gather.flink_jobs(flink.client(), list(registered_jobs())).jobs[1]

    figures = [
        enrichment.last_checkpoint_at,
        enrichment.checkpoint_duration,
        enrichment.checkpoints_failed,
        enrichment.restarts,
    ]
    assert [f.value for f in figures] == [None] * 4
    # Unregistered jobs come by name; the metric list of this one is empty.
    adhoc = gather.flink_jobs(flink.client(), []).jobs[0]
    assert (adhoc.name, adhoc.restarts.value) == (ADHOC_JOB, None)


def test_flink_not_answering_raises():
    with pytest.raises(gather.FlinkUnavailable, match="/jobs/overview"):
        gather.flink_jobs(flink_down(), [])
    with pytest.raises(gather.FlinkUnavailable, match="503"):
        gather.flink_jobs(FakeFlink({"/jobs/overview": 503}).client(), [])


# -- Trino --------------------------------------------------------------------------------


def sql_tables(sql: str) -> set[tuple[str, str, str]]:
    tree = sqlglot.parse_one(sql, read="trino")
    return {(t.catalog, t.db, t.name) for t in tree.find_all(exp.Table)}


@pytest.mark.parametrize(
    "build", [gather.quarantine_rows_sql, gather.top_reasons_sql, gather.newest_quarantined_sql]
)
def test_the_quarantine_sql_parses_and_reads_every_quarantine_table(build, lakehouse):
    expected = {(lakehouse.catalog_name, lakehouse.namespace, t) for t in QUARANTINE_TABLES}
    assert sql_tables(build(lakehouse, QUARANTINE_TABLES)) == expected


def test_the_enrichment_sql_counts_the_fallback_scores(lakehouse):
    sql = gather.enrichment_sql(lakehouse)
    assert sql_tables(sql) == {(lakehouse.catalog_name, lakehouse.namespace, ENRICHMENT_TABLE)}
    [condition] = sqlglot.parse_one(sql, read="trino").find_all(exp.EQ)
    assert condition.expression.this == FALLBACK


def test_the_sql_follows_the_namespace_it_is_given():
    other = LakehouseSettings(namespace="it_console")
    assert {db for _, db, _ in sql_tables(gather.enrichment_sql(other))} == {"it_console"}


def test_quarantine_rows_per_table(trino: FakeTrino, lakehouse):
    rows = gather.quarantine_table_rows(trino, lakehouse, gather.quarantine_tables())

    assert [(r.table, r.rows.value) for r in rows] == list(QUARANTINE_COUNTS.items())
    assert rows[0].rows.key == f"quarantine-rows:{QUARANTINE_TABLES[0]}"
    assert rows[-1].pipeline is Pipeline.ENRICHMENT


def test_top_reasons_in_trinos_order(trino: FakeTrino, lakehouse):
    reasons = gather.top_reasons(trino, lakehouse, QUARANTINE_TABLES)
    assert [(r.reason, r.rows.value) for r in reasons] == TOP_REASONS
    assert reasons[0].rows.key == f"reason-rows:{TOP_REASONS[0][0]}"


def test_newest_quarantined_rows_have_their_payload_cut(trino: FakeTrino, lakehouse):
    first, second = gather.newest_quarantined(trino, lakehouse, QUARANTINE_TABLES)

    assert first.table == QUARANTINE_TABLES[0]
    assert first.payload == LONG_PAYLOAD[: gather.PAYLOAD_CHARS] + "…"
    assert first.quarantined_at == Figure("quarantined-at:0", NOW - 10, Unit.INSTANT)
    assert (second.reason, second.payload) == ("", "not json")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (None, ""),
        ("", ""),
        ("x" * gather.PAYLOAD_CHARS, "x" * gather.PAYLOAD_CHARS),
        ("x" * (gather.PAYLOAD_CHARS + 1), "x" * gather.PAYLOAD_CHARS + "…"),
    ],
)
def test_truncate_payload(raw, shown):
    assert gather.truncate_payload(raw) == shown


def test_enrichment_counts(trino: FakeTrino, lakehouse):
    found = gather.enrichment(trino, lakehouse)
    assert (found.rows, found.fallback) == (
        Figure("enrichment-rows", 100),
        Figure("enrichment-fallback", 7),
    )


# -- the whole view -----------------------------------------------------------------------


def test_the_view_is_evaluated_at_a_whole_second_before_now(sources, console_settings):
    view = gather.gather_view(sources, console_settings, now=NOW)

    assert view.generated_at == NOW
    assert view.evaluated_at == math.floor(NOW - console_settings.evaluation_delay_seconds)
    assert view.window.end == view.evaluated_at
    assert not [name for name, value in vars(view).items() if isinstance(value, Unavailable)]


def test_every_figure_key_is_unique_and_stable(sources, console_settings):
    first = gather.gather_view(sources, console_settings, now=NOW).figures()
    keys = [f.key for f in first]
    assert len(keys) == len(set(keys))
    assert keys == [f.key for f in gather.gather_view(sources, console_settings, now=NOW).figures()]
    assert {f"rate:{t}" for t in TOPIC_NAMES} | {
        f"quarantine-rows:{t}" for t in QUARANTINE_TABLES
    } <= set(keys)


def test_each_source_that_does_not_answer_takes_only_its_own_sections(sources, console_settings):
    from dataclasses import replace

    no_prometheus = replace(sources, prometheus=prometheus_down())
    view = gather.gather_view(no_prometheus, console_settings, now=NOW)
    down = {name for name, value in vars(view).items() if isinstance(value, Unavailable)}
    assert down == {"stages", "groups", "quarantine_shares", "alerts"}
    assert "did not answer" in view.stages.reason  # type: ignore[union-attr]

    no_trino = replace(sources, trino=trino_down)
    view = gather.gather_view(no_trino, console_settings, now=NOW)
    down = {name for name, value in vars(view).items() if isinstance(value, Unavailable)}
    assert down == {"quarantine_tables", "top_reasons", "newest_quarantined", "enrichment"}
    assert "refused" in view.enrichment.reason  # type: ignore[union-attr]

    no_flink = replace(sources, flink=flink_down())
    view = gather.gather_view(no_flink, console_settings, now=NOW)
    assert isinstance(view.flink, Unavailable) and not isinstance(view.stages, Unavailable)


def test_an_answer_the_console_does_not_understand_stays_in_its_section(sources, console_settings):
    from dataclasses import replace

    garbled = FakeFlink({"/jobs/overview": {"jobs": [{"name": "no id"}]}}).client()
    view = gather.gather_view(replace(sources, flink=garbled), console_settings, now=NOW)
    assert isinstance(view.flink, Unavailable)
    assert not isinstance(view.quarantine_tables, Unavailable)
