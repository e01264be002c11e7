"""Freshness of the tables the streaming jobs write, as `dbt source freshness` judges it:
a stalled Flink job or an empty topic shows up as a source whose newest row keeps getting
older. The limits and the timestamp column of each source are declared once, in the dbt
project (`freshness:` and `loaded_at_field` in dbt/models/staging/_sources.yml); `make
freshness` runs the same command.

One check op runs dbt once and reports a check on each source asset that declares a
freshness: passed, failed with severity WARN past `warn_after`, ERROR past `error_after`
or when dbt could not read the table.
"""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    Failure,
    multi_asset_check,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject

CHECK_NAME = "source_freshness"
EMPTY_TABLE_LOADED_AT = "0001-01-01"
LIMITS = ("warn_after", "error_after")


@dataclass(frozen=True)
class FreshSource:
    unique_id: str  # source.<project>.<source>.<table>
    table: str
    asset: AssetKey


def declared_sources(manifest: Mapping[str, Any], project: DbtProject) -> list[FreshSource]:
    """The sources that declare a freshness (the quarantine tables opt out), with the
    asset key dagster-dbt gives each (the default translator, as `build_dbt_assets`)."""
    translator = DagsterDbtTranslator()
    return [
        FreshSource(
            unique_id, source["name"], translator.get_asset_spec(manifest, unique_id, project).key
        )
        for unique_id, source in sorted(manifest["sources"].items())
        if declares_freshness(source)
    ]


def declares_freshness(source: Mapping[str, Any]) -> bool:
    freshness = source.get("freshness") or {}
    return any((freshness.get(limit) or {}).get("count") for limit in LIMITS)


@dataclass(frozen=True)
class FreshnessVerdict:
    passed: bool
    severity: AssetCheckSeverity
    description: str
    metadata: dict[str, Any]


def _criteria(result: Mapping[str, Any]) -> str:
    parts = []
    for limit in LIMITS:
        after = (result.get("criteria") or {}).get(limit) or {}
        if after.get("count"):
            parts.append(f"{limit} {after['count']} {after['period']}")
    return ", ".join(parts)


def judge_source_freshness(result: Mapping[str, Any] | None) -> FreshnessVerdict:
    """A source's entry of dbt's sources.json; None when dbt reported none for it (dbt
    leaves a source it could not query, a 'runtime error', out of that file)."""
    if result is None:
        return FreshnessVerdict(
            False,
            AssetCheckSeverity.ERROR,
            "dbt could not read the table (see the dbt log in this run)",
            {},
        )
    status = result["status"]
    if status == "runtime error":
        return FreshnessVerdict(
            False, AssetCheckSeverity.ERROR, f"dbt could not read it: {result.get('error')}", {}
        )
    metadata: dict[str, Any] = {
        "status": status,
        "max_loaded_at": str(result["max_loaded_at"]),
        "snapshotted_at": str(result["snapshotted_at"]),
        "criteria": _criteria(result),
    }
    # dbt reads an empty table's newest row as 0001-01-01: older than any limit.
    if str(result["max_loaded_at"]).startswith(EMPTY_TABLE_LOADED_AT):
        newest = "no rows at all"
    else:
        age_minutes = float(result["max_loaded_at_time_ago_in_s"]) / 60
        metadata["age_minutes"] = round(age_minutes, 1)
        newest = f"newest row {age_minutes:.1f} min old"
    severity = AssetCheckSeverity.ERROR if status == "error" else AssetCheckSeverity.WARN
    return FreshnessVerdict(status == "pass", severity, f"{status}: {newest}", metadata)


def build_source_freshness_check(project: DbtProject) -> AssetChecksDefinition:
    manifest = json.loads(project.manifest_path.read_text())
    sources = declared_sources(manifest, project)

    @multi_asset_check(
        specs=[
            AssetCheckSpec(
                CHECK_NAME,
                asset=source.asset,
                description=f"`dbt source freshness` of {source.table}",
                blocking=False,
            )
            for source in sources
        ],
        name="dbt_source_freshness",
        description="Runs `dbt source freshness` once: one verdict per source.",
    )
    def dbt_source_freshness(
        context: AssetCheckExecutionContext, dbt: DbtCliResource
    ) -> Iterator[AssetCheckResult]:
        invocation = dbt.cli(["source", "freshness"], raise_on_error=False).wait()
        try:
            results = invocation.get_artifact("sources.json")["results"]
        except FileNotFoundError as exc:
            # dbt stopped before any source (Trino down, a broken project): no verdicts.
            raise Failure(
                description=f"`dbt source freshness` wrote no results: {invocation.get_error()}"
            ) from exc
        by_id = {result["unique_id"]: result for result in results}
        for source in sources:
            verdict = judge_source_freshness(by_id.get(source.unique_id))
            context.log.info(f"{source.table}: {verdict.description}")
            yield AssetCheckResult(
                asset_key=source.asset,
                check_name=CHECK_NAME,
                passed=verdict.passed,
                severity=verdict.severity,
                description=verdict.description,
                metadata=verdict.metadata,
            )

    return dbt_source_freshness
