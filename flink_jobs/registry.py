"""The Flink jobs `make submit` runs, by name."""

from __future__ import annotations

from flink_jobs.enrichment_job import ENRICHMENT_JOB
from flink_jobs.job import SqlJob
from flink_jobs.normalization_job import NORMALIZATION_JOB
from flink_jobs.validation_job import VALIDATION_JOB

JOBS: tuple[SqlJob, ...] = (VALIDATION_JOB, NORMALIZATION_JOB, ENRICHMENT_JOB)


def registered_jobs() -> dict[str, SqlJob]:
    """Every registered job, by name, in the order they are submitted."""
    return {job.name: job for job in JOBS}
