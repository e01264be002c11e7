"""The job registry: every job is a SQL script rendered from settings, read back as the SQL
client reads it; the normalisation job takes the submitter's settings directly."""

from __future__ import annotations

import pytest

from deploy.flink.flink_rest import FlinkRest
from deploy.flink.policy import Submitter, SubmitterSettings
from deploy.flink.runner import render_submission
from deploy.flink.submit import main
from deploy.local.settings import StackSettings
from flink_jobs.job import JobSettings, SqlJob
from flink_jobs.normalization_job import (
    NORMALIZATION_JOB,
    normalization_job,
    normalization_settings,
    render_normalization_job,
)
from flink_jobs.registry import registered_jobs
from flink_jobs.script import parse_script, split_statements
from lakehouse.settings import LakehouseSettings
from normalization.settings import NormalizationSettings

NAMES = ["payments-validation", "payments-normalization", "payments-enrichment-sink"]


def test_every_job_is_a_sql_job_named_as_it_sets_its_pipeline_name():
    jobs = registered_jobs()
    assert list(jobs) == NAMES
    for name, job in jobs.items():
        assert isinstance(job, SqlJob)
        script = parse_script(job.render(JobSettings()))
        assert script.settings["pipeline.name"] == name
        assert script.settings["execution.checkpointing.mode"] == "EXACTLY_ONCE"
        assert script.inserts, f"{name} writes nothing"


def test_the_submitters_settings_reach_the_normalisation_job():
    settings = normalization_settings(
        JobSettings(kafka_bootstrap_servers="k:1", checkpoint_interval="2s", parallelism=2),
        namespace="it_x",
        source_topics={"stripe": "it.s"},
    )
    assert settings.job_name == NORMALIZATION_JOB.name
    assert (settings.kafka_bootstrap_servers, settings.checkpoint_interval) == ("k:1", "2s")
    assert settings.parallelism == 2 and settings.namespace == "it_x"
    assert settings.topic_of("stripe") == "it.s"
    assert settings.topic_of("square") == "payments.square.raw"
    sql = render_normalization_job(settings)
    assert "'topic' = 'it.s'" in sql and "`it_x`.`payments`" in sql


def test_a_renamed_normalisation_job_names_its_pipeline_and_transactions():
    job = normalization_job("it-normalization-1", namespace="it_x")
    script = parse_script(job.render(JobSettings()))
    assert script.settings["pipeline.name"] == "it-normalization-1"
    assert "'sink.transactional-id-prefix' = 'it-normalization-1.normalized'" in "\n".join(
        script.statements
    )


def test_the_normalisation_job_keeps_dedup_state_for_at_least_a_week():
    script = parse_script(render_normalization_job(NormalizationSettings()))
    assert script.settings["table.exec.state.ttl"] == f"{7 * 24 * 3600 * 1000} ms"
    with pytest.raises(ValueError, match="at least 7 days"):
        NormalizationSettings(dedup_ttl="P6D")


def test_statements_split_at_semicolons_outside_quotes_and_comments():
    sql = "-- a; comment\nSET 'k' = 'it''s; fine';\nSELECT ';' AS `a;b`;\n\n"
    assert split_statements(sql) == ["SET 'k' = 'it''s; fine'", "SELECT ';' AS `a;b`"]
    script = parse_script(
        sql + "EXECUTE STATEMENT SET\nBEGIN\nINSERT INTO a SELECT 1;\nINSERT INTO b SELECT 2;\nEND;"
    )
    assert script.settings == {"k": "it's; fine"}
    assert script.statements == ["SELECT ';' AS `a;b`"]
    assert script.inserts == ["INSERT INTO a SELECT 1", "INSERT INTO b SELECT 2"]


def test_print_shows_exactly_what_submit_writes_without_a_cluster(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PAYSTREAM_RUN_DIR", str(tmp_path))
    stack = StackSettings()
    assert stack.run_dir == tmp_path
    assert main(["submit", "--print", "--job", "payments-enrichment-sink", "--fresh"]) == 0
    printed = capsys.readouterr().out
    submitter = Submitter(
        stack,
        LakehouseSettings(),
        JobSettings(),
        SubmitterSettings(),
        FlinkRest("http://127.0.0.1:1"),
    )
    job = registered_jobs()["payments-enrichment-sink"]
    assert printed == render_submission(job, JobSettings(), None)
    assert submitter.write_script(job, None).read_text() == printed
    assert submitter.script_path(job.name) == tmp_path / "flink" / "jobs" / f"{job.name}.sql"
