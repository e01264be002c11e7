"""Sizes and durations of the benchmarks (env prefix BENCH_, or the CLI's flags).

The defaults are the full-size runs the issue asks for; `--quick` shrinks every size to
something a shared 2-core box finishes in a few minutes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.paths import RUN_DIR
from gateway.settings import GatewaySettings
from workflows.models import MAX_INFERENCE_BATCH

BENCHMARKS = ("gateway", "flink", "freshness", "sidestream", "trino", "footprint", "scaleout")


class BenchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BENCH_", frozen=True)

    output_root: Path = RUN_DIR / "bench"

    # Gateway: open-loop steps of signed Stripe webhooks.
    gateway_rates: list[int] = Field(default=[500, 1000, 2000, 4000])
    gateway_step_seconds: float = Field(default=30.0, gt=0)
    gateway_warmup_seconds: float = Field(default=5.0, gt=0)
    gateway_max_connections: int = Field(default=512, ge=1)
    # Worker processes of the gateway and of the bare app beside it: the platform's own
    # (GATEWAY_WORKERS) unless set.
    gateway_workers: int = Field(default=GatewaySettings.model_fields["workers"].default, ge=1)
    # The load client: vegeta (Go, built by `make setup`; cheap enough not to be the limit)
    # or bench.openloop (Python, latency from the scheduled send time).
    gateway_client: Literal["vegeta", "openloop"] = "vegeta"

    # Flink: messages pre-filled into the raw topics, then drained by the job.
    flink_messages: int = Field(default=2_000_000, ge=100)
    flink_partitions: int = Field(default=3, ge=1)
    flink_invalid_share: float = Field(default=0.1, ge=0, le=1)
    flink_drain_timeout_seconds: float = Field(default=1800.0, gt=0)

    # Freshness: steady load, Kafka append -> row visible in Trino.
    freshness_rate: float = Field(default=50.0, gt=0)
    freshness_seconds: float = Field(default=120.0, gt=0)
    freshness_checkpoint_intervals: list[str] = Field(default=["5s", "1s"])
    freshness_poll_seconds: float = Field(default=0.5, gt=0)

    # Side stream: unified events at steady rates through a bridge and worker of its own.
    sidestream_rates: list[float] = Field(default=[25.0, 100.0])
    sidestream_seconds: float = Field(default=60.0, gt=0)
    sidestream_failed_share: float = Field(default=0.1, ge=0, le=1)
    sidestream_batch_size: int = Field(default=200, ge=1, le=MAX_INFERENCE_BATCH)
    # Recovery timers are the strategy's delay times this: 1e-6 makes a day 86 ms, so the
    # latency measured is the workflows' own, not the retry schedule's.
    sidestream_delay_scale: float = Field(default=1e-6, gt=0)
    sidestream_drain_timeout_seconds: float = Field(default=300.0, gt=0)

    # Trino: a table written in many small appends, queried before and after compaction.
    trino_rows: int = Field(default=1_000_000, ge=100)
    trino_appends: int = Field(default=500, ge=1)
    trino_repeats: int = Field(default=10, ge=1)

    # Footprint: RSS idle, then while a JR load runs.
    footprint_load_seconds: float = Field(default=30.0, gt=0)
    footprint_load_rate: float = Field(default=20.0, gt=0)

    # Scale-out: each part at 1..n instances in the same run, each rate against one
    # instance's. Flink: the validation job drains one pre-filled backlog at each
    # parallelism, beside a second TaskManager of the run's own (topics of max(list)
    # partitions).
    scaleout_flink_parallelisms: list[PositiveInt] = Field(default=[1, 2, 4], min_length=1)
    scaleout_flink_messages: int = Field(default=1_000_000, ge=100)
    # Gateway: worker processes behind one port, at one rate that saturates one worker.
    scaleout_gateway_workers: list[PositiveInt] = Field(default=[1, 2], min_length=1)
    scaleout_gateway_rate: int = Field(default=3000, ge=1)
    scaleout_gateway_seconds: float = Field(default=20.0, gt=0)
    # Side stream: Temporal worker processes on one task queue, one bridge, one rate.
    scaleout_sidestream_workers: list[PositiveInt] = Field(default=[1, 2], min_length=1)
    scaleout_sidestream_rate: float = Field(default=200.0, gt=0)
    scaleout_sidestream_seconds: float = Field(default=60.0, gt=0)

    def quick(self) -> BenchSettings:
        """The same settings at development size."""
        return self.model_copy(
            update={
                "gateway_rates": [100, 200],
                "gateway_step_seconds": 2.0,
                "gateway_warmup_seconds": 1.0,
                "gateway_max_connections": 64,
                "flink_messages": 20_000,
                "flink_drain_timeout_seconds": 300.0,
                "freshness_rate": 20.0,
                "freshness_seconds": 20.0,
                "sidestream_rates": [10.0],
                "sidestream_seconds": 10.0,
                "sidestream_drain_timeout_seconds": 120.0,
                "trino_rows": 10_000,
                "trino_appends": 20,
                "trino_repeats": 3,
                "footprint_load_seconds": 5.0,
                "footprint_load_rate": 5.0,
                "scaleout_flink_messages": 20_000,
                "scaleout_gateway_rate": 500,
                "scaleout_gateway_seconds": 3.0,
                "scaleout_sidestream_rate": 20.0,
                "scaleout_sidestream_seconds": 10.0,
            }
        )
