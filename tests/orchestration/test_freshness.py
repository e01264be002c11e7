"""The freshness checks are `dbt source freshness`: the sources that declare a freshness in
the dbt project get a check each, and dbt's verdict becomes the check's (pass; warn ->
WARN; error, unreadable -> ERROR). dbt itself runs against Trino in the integration test
(test_dagster_checks.py); here a resource stands in for the dbt CLI and its artifact."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dagster import AssetCheckSeverity, AssetKey, AssetSelection, materialize
from dagster_dbt import DbtCliResource

from contracts.events import EVENT_TYPES
from contracts.tables import ENRICHMENT_TABLE, UNIFIED_TABLE
from orchestration.dbt_project import DBT_EXECUTABLE, build_dbt_assets, load_dbt_project
from orchestration.freshness import (
    CHECK_NAME,
    build_source_freshness_check,
    declared_sources,
    judge_source_freshness,
)

SOURCE = "payments"  # the source name of dbt/models/staging/_sources.yml
CRITERIA = {
    "warn_after": {"count": 1, "period": "hour"},
    "error_after": {"count": 24, "period": "hour"},
    "filter": None,
}


def result(table: str, status: str, age_s: float, loaded_at: str = "2026-11-22T11:30:00+00:00"):
    return {
        "unique_id": f"source.paystream.{SOURCE}.{table}",
        "status": status,
        "max_loaded_at": loaded_at,
        "snapshotted_at": "2026-11-22T12:00:00+00:00",
        "max_loaded_at_time_ago_in_s": age_s,
        "criteria": CRITERIA,
    }


@pytest.fixture(scope="module")
def project():
    return load_dbt_project()


def test_the_sources_that_declare_a_freshness_get_a_check(project):
    manifest = json.loads(project.manifest_path.read_text())
    sources = declared_sources(manifest, project)
    expected = {t.bronze_table for t in EVENT_TYPES} | {UNIFIED_TABLE, ENRICHMENT_TABLE}
    assert {s.table for s in sources} == expected  # the quarantine tables opt out
    assert {s.asset for s in sources} == {AssetKey([SOURCE, table]) for table in expected}


@pytest.mark.parametrize(
    ("status", "passed", "severity"),
    [
        ("pass", True, AssetCheckSeverity.WARN),
        ("warn", False, AssetCheckSeverity.WARN),
        ("error", False, AssetCheckSeverity.ERROR),
    ],
)
def test_dbt_verdict_becomes_the_check_verdict(status, passed, severity):
    verdict = judge_source_freshness(result("payment_charges", status, 1800.0))
    assert (verdict.passed, verdict.severity) == (passed, severity)
    assert verdict.description == f"{status}: newest row 30.0 min old"
    assert verdict.metadata["age_minutes"] == 30.0
    assert verdict.metadata["criteria"] == "warn_after 1 hour, error_after 24 hour"


def test_an_empty_table_is_an_error_with_no_rows():
    verdict = judge_source_freshness(
        result("payment_refunds", "error", 6.4e10, loaded_at="0001-01-01T00:00:00+00:00")
    )
    assert (verdict.passed, verdict.severity) == (False, AssetCheckSeverity.ERROR)
    assert verdict.description == "error: no rows at all"
    assert "age_minutes" not in verdict.metadata


def test_a_source_dbt_could_not_read_is_an_error():
    missing = judge_source_freshness(None)
    assert (missing.passed, missing.severity) == (False, AssetCheckSeverity.ERROR)
    runtime = judge_source_freshness(
        {"unique_id": "x", "status": "runtime error", "error": "Table does not exist"}
    )
    assert not runtime.passed and "Table does not exist" in runtime.description


class CannedInvocation:
    def __init__(self, sources: dict[str, Any] | None) -> None:
        self.sources = sources

    def wait(self) -> CannedInvocation:
        return self

    def get_artifact(self, name: str) -> dict[str, Any]:
        assert name == "sources.json"
        if self.sources is None:
            raise FileNotFoundError(name)
        return self.sources

    def get_error(self) -> Exception:
        return RuntimeError("Database Error: failed to execute: connection refused")


def canned_dbt(project, sources: dict[str, Any] | None, asked: list[list[str]]) -> DbtCliResource:
    class Canned(DbtCliResource):
        def cli(self, args, **kwargs):  # type: ignore[override]
            asked.append(list(args))
            return CannedInvocation(sources)

    return Canned(project_dir=project, dbt_executable=DBT_EXECUTABLE)


def test_one_dbt_run_gives_every_source_its_verdict(project):
    check = build_source_freshness_check(project)
    results = [
        result("payment_charges", "pass", 60.0),
        result("payment_refunds", "warn", 2 * 3600.0),
        result(UNIFIED_TABLE, "error", 30 * 3600.0),
    ]
    asked: list[list[str]] = []
    run = materialize(
        [build_dbt_assets(project), check],
        selection=AssetSelection.checks(check),
        resources={"dbt": canned_dbt(project, {"results": results}, asked)},
    )
    assert asked == [["source", "freshness"]]
    evaluations = {e.asset_key.path[-1]: e for e in run.get_asset_check_evaluations()}
    assert {e.check_name for e in evaluations.values()} == {CHECK_NAME}
    assert evaluations["payment_charges"].passed
    assert not evaluations["payment_refunds"].passed
    assert evaluations["payment_refunds"].severity == AssetCheckSeverity.WARN
    assert evaluations[UNIFIED_TABLE].severity == AssetCheckSeverity.ERROR
    # dbt reported nothing for the others: it could not read them.
    assert not evaluations[ENRICHMENT_TABLE].passed
    assert evaluations[ENRICHMENT_TABLE].severity == AssetCheckSeverity.ERROR


def test_dbt_stopping_before_any_source_fails_the_check_with_its_error(project):
    check = build_source_freshness_check(project)
    run = materialize(
        [build_dbt_assets(project), check],
        selection=AssetSelection.checks(check),
        resources={"dbt": canned_dbt(project, None, [])},
        raise_on_error=False,
    )
    assert not run.success
    (failure,) = run.get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert "wrote no results" in description and "connection refused" in description
