"""Dagster for the analytics layer: `dagster dev -m orchestration.definitions` (`make
dagster`). Only wiring: settings -> resources -> definitions.

- assets: every dbt model, seed and snapshot (dbt tests become asset checks); the
  monitoring assets (pipeline health, workflow metrics from Prometheus; payment success
  from Trino), whose checks fail where the alert rules fire;
- checks: quarantine rate per table (ERROR) on staging models; `dbt source freshness` on
  each source that declares one (WARN past warn_after, ERROR past error_after);
- jobs and schedules: silver (dbt tag:silver) hourly, gold (tag:gold) daily, Iceberg
  maintenance nightly, monitoring every 5 minutes.
"""

from __future__ import annotations

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
)
from dagster_dbt import build_dbt_asset_selection, get_asset_key_for_model

from lakehouse.settings import LakehouseSettings
from observability.thresholds import AlertThresholds
from orchestration.dbt_project import build_dbt_assets, dbt_cli, load_dbt_project
from orchestration.freshness import build_source_freshness_check
from orchestration.maintenance import iceberg_maintenance
from orchestration.payment_success import payment_success
from orchestration.pipeline_health import pipeline_health
from orchestration.quarantine import build_quarantine_checks
from orchestration.resources import (
    AlertThresholdsResource,
    MaintenanceConfig,
    PrometheusResource,
    QuarantineThresholds,
    TrinoResource,
)
from orchestration.settings import OrchestrationSettings
from orchestration.workflow_metrics import workflow_metrics

lakehouse = LakehouseSettings()
orchestration = OrchestrationSettings()
dbt_project = load_dbt_project()
dbt_models = build_dbt_assets(dbt_project)


def dbt_asset_key(model: str) -> AssetKey:
    return get_asset_key_for_model([dbt_models], model)


quarantine_checks = build_quarantine_checks(dbt_asset_key)
freshness_checks = [build_source_freshness_check(dbt_project)]
monitoring_assets = [pipeline_health, workflow_metrics, payment_success]

# The streaming tables' checks (quarantine rate on the staging models, freshness on the
# dbt sources) run with the silver models.
silver_selection = build_dbt_asset_selection(
    [dbt_models], dbt_select="tag:silver"
) | AssetSelection.checks(*quarantine_checks, *freshness_checks)
silver_job = define_asset_job(
    "silver_hourly",
    selection=silver_selection,
    description="Seeds, staging, intermediate models, the subscription snapshot, and the "
    "quarantine-rate and freshness checks of the streaming tables.",
)
gold_job = define_asset_job(
    "gold_daily",
    selection=build_dbt_asset_selection([dbt_models], dbt_select="tag:gold"),
    description="The marts: facts, dimensions, health scores, quarantine and risk reports.",
)
checks_job = define_asset_job(
    "streaming_health_checks",
    selection=AssetSelection.checks(*quarantine_checks, *freshness_checks),
    description="Quarantine rate and freshness of the streaming jobs' tables, on their own.",
)
# The assets' own checks (lag, quarantine share, no data, back-pressure) run with them.
monitoring_job = define_asset_job(
    "monitoring",
    selection=AssetSelection.assets(*monitoring_assets),
    description="Pipeline health and workflow metrics from Prometheus, payment success "
    "from Trino, and the checks of the alert rules' thresholds.",
)

defs = Definitions(
    assets=[dbt_models, *monitoring_assets],
    asset_checks=[*quarantine_checks, *freshness_checks],
    jobs=[silver_job, gold_job, checks_job, iceberg_maintenance, monitoring_job],
    schedules=[
        ScheduleDefinition(
            job=silver_job, cron_schedule="5 * * * *", default_status=DefaultScheduleStatus.RUNNING
        ),
        ScheduleDefinition(
            job=gold_job, cron_schedule="30 1 * * *", default_status=DefaultScheduleStatus.RUNNING
        ),
        ScheduleDefinition(
            job=iceberg_maintenance,
            cron_schedule="0 3 * * *",
            default_status=DefaultScheduleStatus.RUNNING,
        ),
        ScheduleDefinition(
            job=monitoring_job,
            cron_schedule="*/5 * * * *",
            default_status=DefaultScheduleStatus.RUNNING,
        ),
    ],
    resources={
        "dbt": dbt_cli(dbt_project),
        "trino": TrinoResource(
            host=lakehouse.trino_host,
            port=lakehouse.trino_port,
            user=lakehouse.trino_user,
            catalog=lakehouse.catalog_name,
            source_schema=lakehouse.namespace,
        ),
        "quarantine_thresholds": QuarantineThresholds(),
        "prometheus": PrometheusResource(url=orchestration.prometheus_url),
        "alert_thresholds": AlertThresholdsResource.from_settings(AlertThresholds()),
        "maintenance": MaintenanceConfig(
            # The streaming tables and the dbt layers built on them (dbt/profiles.yml).
            namespaces=[
                lakehouse.namespace,
                f"{lakehouse.namespace}_silver",
                f"{lakehouse.namespace}_gold",
            ]
        ),
    },
)
