"""The enrichment sink job's SQL as rendered (it is planned by Flink in
tests/<area>/test_side_stream.py)."""

from __future__ import annotations

import re

from contracts.tables import ENRICHMENT_COLUMNS
from flink_jobs.enrichment_job import ENRICHMENT_JOB, render_enrichment_job
from flink_jobs.job import JobSettings


def test_rendered_sql_reads_the_topic_and_writes_every_column_once_per_event():
    sql = render_enrichment_job(
        JobSettings(kafka_bootstrap_servers="k:9092"),
        namespace="ns",
        job_name="j",
        group_id="g",
        topic="t.enriched",
    )
    assert "${" not in sql
    assert "'topic' = 't.enriched'" in sql and "'properties.group.id' = 'g'" in sql
    assert "INSERT INTO `lakehouse`.`ns`.`payment_enrichments`" in sql
    assert re.search(r"PARTITION BY event_id ORDER BY proc_time ASC", sql)
    assert "WHERE copy_number = 1" in sql
    assert "SET 'table.exec.state.ttl' = '7 d'" in sql
    insert = sql[sql.index("INSERT INTO") :]
    for name, _ in ENRICHMENT_COLUMNS:
        assert re.search(rf"\b{name}\b", insert), name


def test_the_registered_job_renders_with_its_own_name():
    sql = ENRICHMENT_JOB.render(JobSettings())
    assert f"SET 'pipeline.name' = '{ENRICHMENT_JOB.name}'" in sql
    assert "'topic' = 'payments.enriched'" in sql


def test_the_topic_is_read_as_raw_text_and_bad_messages_go_to_quarantine():
    sql = render_enrichment_job(JobSettings(), namespace="ns")
    # The json format fails the job on a message it cannot parse, after every restart.
    assert "'format' = 'raw'" in sql and "'format' = 'json'" not in sql
    assert "json.ignore-parse-errors" not in sql
    assert "INSERT INTO `lakehouse`.`ns`.`quarantine_payment_enrichments`" in sql
    assert "WHERE reasons_csv <> ''" in sql and "WHERE reasons_csv = ''" in sql
