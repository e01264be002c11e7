"""Payment success from Trino: of the payments that reached an outcome within the window,
the share that succeeded, per source (JR charges, provider webhooks) and provider.

Read from the streaming tables, not the gold models, so the figure is as fresh as the
last Flink checkpoint. Sources are named as dbt's `int_payment_events.source_system`.
A recovery's outcome is not here: it is recorded in PostgreSQL, which Trino does not read.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field
from trino.exceptions import TrinoConnectionError, TrinoQueryError

from contracts.events import CHARGES
from contracts.tables import UNIFIED_TABLE
from orchestration.resources import TrinoResource

PAYMENT_SUCCESS = AssetKey(["monitoring", "payment_success"])
JR, WEBHOOK = "jr", "webhook"
UNKNOWN_PROVIDER = "unknown"


class PaymentSuccessConfig(Config):
    window_minutes: int = Field(default=60, gt=0, description="payments ingested this recently")


def payment_outcomes_sql(window_minutes: int) -> str:
    """(source, provider, succeeded, failed, payments) within the window: JR charges by
    their status, webhook payment events by their unified type (payment.succeeded, ...)."""
    since = f"current_timestamp - interval '{int(window_minutes)}' minute"
    return (
        f"SELECT '{JR}', provider, count_if(status = 'succeeded'),"
        f" count_if(status = 'failed'), count(*)"
        f' FROM "{CHARGES.bronze_table}" WHERE ingested_at >= {since} GROUP BY provider'
        " UNION ALL"
        f" SELECT '{WEBHOOK}', provider, count_if(event_type = 'payment.succeeded'),"
        f" count_if(event_type = 'payment.failed'), count(*)"
        f' FROM "{UNIFIED_TABLE}"'
        f" WHERE event_type LIKE 'payment.%' AND processed_at >= {since} GROUP BY provider"
    )


@dataclass(frozen=True)
class ProviderOutcomes:
    source: str
    provider: str
    succeeded: int
    failed: int
    payment_events: int  # every payment event, pending and canceled ones too

    @property
    def success_share(self) -> float | None:
        """None when no payment reached an outcome."""
        decided = self.succeeded + self.failed
        return self.succeeded / decided if decided else None


def provider_outcomes(rows: Sequence[tuple[Any, ...]]) -> list[ProviderOutcomes]:
    outcomes = [
        ProviderOutcomes(
            str(source),
            provider or UNKNOWN_PROVIDER,
            int(succeeded),
            int(failed),
            int(payment_events),
        )
        for source, provider, succeeded, failed, payment_events in rows
    ]
    return sorted(outcomes, key=lambda o: (o.source, o.provider))


def overall(outcomes: Sequence[ProviderOutcomes]) -> ProviderOutcomes:
    return ProviderOutcomes(
        "all",
        "all",
        sum(o.succeeded for o in outcomes),
        sum(o.failed for o in outcomes),
        sum(o.payment_events for o in outcomes),
    )


def payment_success_metadata(
    outcomes: Sequence[ProviderOutcomes], window_minutes: int, evaluated_at: datetime
) -> dict[str, Any]:
    everything = overall(outcomes)
    return {
        "evaluated_at": MetadataValue.timestamp(evaluated_at),
        "window_minutes": window_minutes,
        "by_provider": MetadataValue.json(
            [
                {
                    "source": o.source,
                    "provider": o.provider,
                    "succeeded": o.succeeded,
                    "failed": o.failed,
                    "payment_events": o.payment_events,
                    "success_share": o.success_share,
                }
                for o in outcomes
            ]
        ),
        "payment_events": everything.payment_events,
        "succeeded": everything.succeeded,
        "failed": everything.failed,
        "success_share": (
            MetadataValue.null() if everything.success_share is None else everything.success_share
        ),
    }


@asset(
    key=PAYMENT_SUCCESS,
    group_name="monitoring",
    description="Share of payments that succeeded, by source and provider, from the "
    "streaming tables through Trino.",
)
def payment_success(
    context: AssetExecutionContext, config: PaymentSuccessConfig, trino: TrinoResource
) -> MaterializeResult:
    evaluated_at = datetime.now(UTC)
    try:
        rows = trino.query(payment_outcomes_sql(config.window_minutes))
    except (TrinoConnectionError, TrinoQueryError) as exc:
        raise Failure(
            description=f"payment success unavailable: Trino at {trino.host}:{trino.port}: {exc}"
        ) from exc
    outcomes = provider_outcomes(rows)
    for o in outcomes:
        context.log.info(f"{o.source}/{o.provider}: {o}")
    return MaterializeResult(
        metadata=payment_success_metadata(outcomes, config.window_minutes, evaluated_at)
    )
