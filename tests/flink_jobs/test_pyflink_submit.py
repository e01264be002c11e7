"""Submitting PyFlink programs: the `flink run` command, its output, and the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from flink_jobs.jobs import JobSettings, PyFlinkJob, SqlJob, registered_jobs
from flink_jobs.normalization_job import NORMALIZATION_JOB, job_config, job_environment
from flink_jobs.submit import SubmitError, flink_run_command, parse_flink_run_job_id
from normalization.settings import NormalizationSettings

JOB_ID = "4f761b4ef8c2a4d36c5636aa8282ccfe"
PROGRAM = PyFlinkJob(name="p", description="a program", script=Path("/repo/job.py"))


def test_flink_run_is_detached_and_runs_the_program_in_the_flink_venv():
    command = flink_run_command(Path("/flink"), Path("/venv/bin/python"), PROGRAM, None)
    assert command == [
        "/flink/bin/flink",
        "run",
        "--detached",
        "--python",
        "/repo/job.py",
        "--pyExecutable",
        "/venv/bin/python",
        "--pyClientExecutable",
        "/venv/bin/python",
    ]


def test_flink_run_resumes_from_the_restore_point():
    command = flink_run_command(Path("/flink"), Path("/py"), PROGRAM, "/state/chk-7")
    assert command[command.index("--fromSavepoint") + 1] == "/state/chk-7"
    assert command.index("--fromSavepoint") < command.index("--python")


def test_job_id_is_read_once_even_when_the_program_says_it_too():
    output = (
        f"Job has been submitted with JobID {JOB_ID}\n"
        f"\x1b[0mJob has been submitted with JobID {JOB_ID}\n"
    )
    assert parse_flink_run_job_id(output) == JOB_ID
    with pytest.raises(SubmitError, match="found 0"):
        parse_flink_run_job_id("Traceback (most recent call last):\n  ...")
    with pytest.raises(SubmitError, match="found 2"):
        parse_flink_run_job_id(f"submitted with JobID {JOB_ID}\nsubmitted with JobID {'0' * 32}\n")


def test_both_kinds_of_job_are_registered():
    jobs = registered_jobs()
    assert isinstance(jobs["payments-validation"], SqlJob)
    assert jobs["payments-normalization"] is NORMALIZATION_JOB
    assert NORMALIZATION_JOB.script.is_file()


def test_the_submitters_settings_reach_the_program_as_its_settings(monkeypatch):
    environment = job_environment(
        JobSettings(kafka_bootstrap_servers="k:1", checkpoint_interval="2s", parallelism=2),
        namespace="it_x",
        source_topics='{"stripe": "it.s"}',
    )
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    settings = NormalizationSettings()
    assert settings.job_name == NORMALIZATION_JOB.name
    assert (settings.kafka_bootstrap_servers, settings.checkpoint_interval) == ("k:1", "2s")
    assert settings.parallelism == 2 and settings.namespace == "it_x"
    assert settings.topic_of("stripe") == "it.s"
    assert settings.topic_of("square") == "payments.square.raw"


def test_the_job_keeps_dedup_state_for_at_least_a_week():
    config = job_config(NormalizationSettings())
    assert config["table.exec.state.ttl"] == f"{7 * 24 * 3600 * 1000} ms"
    assert config["pipeline.name"] == NORMALIZATION_JOB.name
    with pytest.raises(ValueError, match="at least 7 days"):
        NormalizationSettings(dedup_ttl="P6D")
