-- The enrichment sink: `payments.enriched` -> Iceberg `payment_enrichments`, one row per
-- event_id. The enrichment workflows write each result once, but a retried publish
-- activity (or a re-run failed batch) can write it again, so the job keeps the first
-- result of each event_id and drops later copies. The dedupe state expires after
-- ${state_ttl}: a copy can only follow its original by the length of a workflow's retries,
-- far shorter. flink_jobs/enrichment_job.py fills the placeholders.
SET 'pipeline.name' = '${job_name}';
-- Iceberg commits on checkpoints: the interval is the data's freshness.
SET 'execution.checkpointing.interval' = '${checkpoint_interval}';
SET 'execution.checkpointing.mode' = 'EXACTLY_ONCE';
SET 'parallelism.default' = '${parallelism}';
SET 'table.local-time-zone' = 'UTC';
SET 'table.exec.state.ttl' = '${state_ttl}';

-- The topic's JSON has exactly the table's columns; enriched_at is RFC 3339 UTC with
-- milliseconds (2026-11-22T10:00:00.123Z), which the ISO-8601 timestamp format reads.
CREATE TEMPORARY TABLE enriched_results (
  ${source_columns},
  proc_time AS PROCTIME()
) WITH (
  'connector' = 'kafka',
  'topic' = '${topic}',
  'properties.bootstrap.servers' = '${bootstrap_servers}',
  'properties.group.id' = '${group_id}',
  'properties.isolation.level' = 'read_committed',
  'scan.startup.mode' = 'group-offsets',
  'properties.auto.offset.reset' = 'earliest',
  'format' = 'json',
  'json.timestamp-format.standard' = 'ISO-8601',
  'json.fail-on-missing-field' = 'false',
  'json.ignore-parse-errors' = 'false'
);

-- Keep-first on processing time is append-only, which the Iceberg sink requires.
CREATE TEMPORARY VIEW first_result_per_event AS
SELECT ${column_names}
FROM (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY proc_time ASC) AS copy_number
  FROM enriched_results
  WHERE event_id IS NOT NULL
)
WHERE copy_number = 1;

INSERT INTO ${catalog}.${namespace}.${table}
SELECT ${sink_projection}
FROM first_result_per_event;
