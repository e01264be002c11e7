-- The enrichment sink: `payments.enriched` -> Iceberg `payment_enrichments`, one row per
-- event_id, and every message that is not a valid result -> `quarantine_payment_enrichments`
-- with its reasons (flink_jobs/enrichment_checks.py), so one bad message can never stop
-- the job. The enrichment workflows write each result once, but a retried publish
-- activity (or a re-run failed batch) can write it again, so the job keeps the first
-- valid result of each event_id and drops later copies. The dedupe state expires after
-- ${state_ttl}: a copy can only follow its original by the length of a workflow's retries,
-- far shorter. flink_jobs/enrichment_job.py fills the placeholders.
SET 'pipeline.name' = '${job_name}';
-- Iceberg commits on checkpoints: the interval is the data's freshness.
SET 'execution.checkpointing.interval' = '${checkpoint_interval}';
SET 'execution.checkpointing.mode' = 'EXACTLY_ONCE';
SET 'parallelism.default' = '${parallelism}';
SET 'table.local-time-zone' = 'UTC';
SET 'table.exec.state.ttl' = '${state_ttl}';

-- Read as `raw`, never as `json`: the json format can only fail the job on a message it
-- cannot parse (and fail it again after every restart) or drop the message silently.
CREATE TEMPORARY TABLE enriched_messages (
  payload STRING,
  kafka_topic STRING METADATA FROM 'topic' VIRTUAL,
  kafka_partition INT METADATA FROM 'partition' VIRTUAL,
  kafka_offset BIGINT METADATA FROM 'offset' VIRTUAL,
  kafka_timestamp TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  proc_time AS PROCTIME()
) WITH (
  'connector' = 'kafka',
  'topic' = '${topic}',
  'properties.bootstrap.servers' = '${bootstrap_servers}',
  'properties.group.id' = '${group_id}',
  'properties.isolation.level' = 'read_committed',
  'scan.startup.mode' = 'group-offsets',
  'properties.auto.offset.reset' = 'earliest',
  'format' = 'raw'
);

${check_views}
-- Keep-first on processing time is append-only, which the Iceberg sink requires.
CREATE TEMPORARY VIEW first_result_per_event AS
SELECT ${column_names}
FROM (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY proc_time ASC) AS copy_number
  FROM enriched_checked
  WHERE reasons_csv = ''
)
WHERE copy_number = 1;

EXECUTE STATEMENT SET
BEGIN
INSERT INTO ${catalog}.${namespace}.${table}
SELECT ${column_names}
FROM first_result_per_event;

INSERT INTO ${catalog}.${namespace}.${quarantine_table}
SELECT
  ${quarantine_projection}
FROM enriched_checked
WHERE reasons_csv <> '';
END;
