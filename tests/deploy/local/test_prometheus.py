"""Prometheus's configuration and rules, checked by Prometheus's own promtool: the config
and rules load, every target is on loopback and is a supervised service, and the alert
rules fire on synthetic series above their thresholds and stay quiet below them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.events import EVENT_TYPES
from contracts.tables import UNIFIED_QUARANTINE_TABLE, UNIFIED_TABLE
from contracts.topics import STRIPE_RAW
from deploy.local import prometheus
from deploy.local.services import services
from deploy.local.settings import StackSettings
from gateway.metrics import Outcome
from lakehouse.settings import LakehouseSettings
from observability import series
from observability.series import Pipeline, TableKind
from observability.thresholds import AlertThresholds

PROMTOOL = "/usr/bin/promtool"  # Debian's prometheus package (`make setup`)
THRESHOLDS = AlertThresholds(for_minutes=1, quarantine_share=0.2, consumer_lag_messages=1000)


@pytest.fixture
def stack(tmp_path: Path) -> StackSettings:
    return StackSettings(run_dir=tmp_path / "run", _env_file=None)


@pytest.fixture
def lakehouse() -> LakehouseSettings:
    return LakehouseSettings(catalog_db_password="s3cret-Password-1234", _env_file=None)


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert shutil.which(PROMTOOL) or Path(PROMTOOL).exists(), "promtool missing: make setup"
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, check=False)


def write_config(folder: Path, stack: StackSettings, lakehouse: LakehouseSettings) -> Path:
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus.prometheus_config(stack, lakehouse)))
    rules = prometheus.rules_file(THRESHOLDS)
    (folder / prometheus.RULES_FILE).write_text(yaml.safe_dump(rules))
    return config


def test_promtool_accepts_the_config_and_its_rules(
    tmp_path: Path, stack: StackSettings, lakehouse: LakehouseSettings
) -> None:
    write_config(tmp_path, stack, lakehouse)
    checked = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout + checked.stderr


def test_every_target_is_on_loopback_and_names_a_supervised_service(
    stack: StackSettings, lakehouse: LakehouseSettings
) -> None:
    supervised = {s.name for s in services(stack, lakehouse)}
    targets = prometheus.scrape_targets(stack, lakehouse)
    assert set(targets) <= supervised
    assert all(t.startswith("127.0.0.1:") for t in targets.values())
    # Flink has no target of its own: its processes push to the Pushgateway.
    assert {"pushgateway", "kafka", "trino", "temporal", "worker", "bridge"} <= set(targets)


def test_the_thresholds_are_the_ones_the_rules_compare_with() -> None:
    rules = {r["alert"]: r for r in prometheus.alert_rules(THRESHOLDS)}
    assert f"> {THRESHOLDS.quarantine_share}" in rules["QuarantineRateHigh"]["expr"]
    assert f"> {THRESHOLDS.consumer_lag_messages}" in rules["ConsumerLagGrowing"]["expr"]
    assert rules["QuarantineRateHigh"]["for"] == "60s"
    no_data = [r for r in prometheus.alert_rules(THRESHOLDS) if r["alert"] == "NoData"]
    assert sorted(r["labels"]["pipeline"] for r in no_data) == sorted(p.value for p in Pipeline)


def rows(table: str, pipeline: Pipeline, kind: TableKind) -> str:
    return f'{series.TABLE_ROWS}{{table="{table}", pipeline="{pipeline}", kind="{kind}"}}'


def rule_test(tmp_path: Path, tests: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    (tmp_path / prometheus.RULES_FILE).write_text(yaml.safe_dump(prometheus.rules_file(THRESHOLDS)))
    spec = {"rule_files": [prometheus.RULES_FILE], "evaluation_interval": "15s", "tests": tests}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(spec))
    return promtool("test", "rules", "tests.yml", cwd=tmp_path)


def quarantine_case(quarantined_per_15s: int, expected: list[dict[str, Any]]) -> dict[str, Any]:
    """100 rows every 15 s into the unified table and the given number into its quarantine."""
    normalization = Pipeline.NORMALIZATION
    return {
        "interval": "15s",
        "input_series": [
            {"series": rows(UNIFIED_TABLE, normalization, TableKind.CLEAN), "values": "0+100x60"},
            {
                "series": rows(UNIFIED_QUARANTINE_TABLE, normalization, TableKind.QUARANTINE),
                "values": f"0+{quarantined_per_15s}x60",
            },
        ],
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": "QuarantineRateHigh", "exp_alerts": expected}
        ],
    }


def test_quarantine_alert_fires_above_its_share_and_not_below(tmp_path: Path) -> None:
    firing = {
        "exp_labels": {"severity": "page", "pipeline": Pipeline.NORMALIZATION.value},
        "exp_annotations": {"summary": "normalization quarantines 33.33% of its rows"},
    }
    result = rule_test(tmp_path, [quarantine_case(50, [firing]), quarantine_case(10, [])])
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_burst_of_dead_letters_fires_and_a_trickle_does_not(tmp_path: Path) -> None:
    def case(dlq_per_15s: int, expected: list[dict[str, Any]]) -> dict[str, Any]:
        requests = series.GATEWAY_REQUESTS
        return {
            "interval": "15s",
            "input_series": [
                {
                    "series": f'{requests}{{provider="stripe", outcome="{Outcome.ACCEPTED}"}}',
                    "values": "0+10x40",
                },
                {
                    "series": f'{requests}{{provider="stripe", outcome="{Outcome.DLQ}"}}',
                    "values": f"0+{dlq_per_15s}x40",
                },
            ],
            "alert_rule_test": [
                {"eval_time": "5m", "alertname": "WebhooksDeadLettered", "exp_alerts": expected}
            ],
        }

    firing = {
        "exp_labels": {"severity": "ticket"},
        "exp_annotations": {"summary": "90% of signed webhooks go to the dead-letter topic"},
    }
    result = rule_test(tmp_path, [case(90, [firing]), case(2, [])])
    assert result.returncode == 0, result.stdout + result.stderr


def test_lag_alerts_only_while_it_is_high_and_growing(tmp_path: Path) -> None:
    def case(values: str, expected: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "interval": "15s",
            "input_series": [
                {
                    "series": f'{series.CONSUMER_LAG}{{group="g", topic="{STRIPE_RAW}"}}',
                    "values": values,
                }
            ],
            "alert_rule_test": [
                {"eval_time": "8m", "alertname": "ConsumerLagGrowing", "exp_alerts": expected}
            ],
        }

    firing = {
        "exp_labels": {"severity": "page", "group": "g"},
        "exp_annotations": {"summary": "g is 5200 messages behind and falling further behind"},
    }
    result = rule_test(
        tmp_path,
        [
            case("2000+100x40", [firing]),  # high and growing
            case("5000-10x40", []),  # high but shrinking: it is catching up
            case("10+1x40", []),  # growing but small
        ],
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_data_fires_when_a_pipelines_input_grows_and_its_tables_do_not(tmp_path: Path) -> None:
    jr_topic = EVENT_TYPES[0].topic
    bronze = EVENT_TYPES[0].bronze_table

    def case(table_values: str, expected: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "interval": "15s",
            "input_series": [
                {"series": f'{series.TOPIC_END_OFFSET}{{topic="{jr_topic}"}}', "values": "0+50x60"},
                {
                    "series": rows(bronze, Pipeline.VALIDATION, TableKind.CLEAN),
                    "values": table_values,
                },
            ],
            "alert_rule_test": [
                {"eval_time": "12m", "alertname": "NoData", "exp_alerts": expected}
            ],
        }

    stalled = {
        "exp_labels": {"severity": "page", "pipeline": Pipeline.VALIDATION.value},
        "exp_annotations": {
            "summary": "validation: its input topics grew in the last 5 min, none of its tables did"
        },
    }
    result = rule_test(tmp_path, [case("100+0x60", [stalled]), case("100+50x60", [])])
    assert result.returncode == 0, result.stdout + result.stderr
