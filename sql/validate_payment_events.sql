-- The validation job: every raw payment event from Kafka lands, exactly once, in its
-- bronze table (normalised and typed) or its quarantine table (as read, with reasons).
-- The rules are rendered from validation/rules.py by flink_jobs/validation_job.py, which
-- fills the placeholders; `make submit` runs it, `.run/flink/jobs/` keeps the result.
SET 'pipeline.name' = '${job_name}';
-- Iceberg commits on checkpoints: the interval is the data's freshness.
SET 'execution.checkpointing.interval' = '${checkpoint_interval}';
SET 'execution.checkpointing.mode' = 'EXACTLY_ONCE';
SET 'parallelism.default' = '${parallelism}';
-- Offset-free timestamps are UTC, whatever the machine's zone.
SET 'table.local-time-zone' = 'UTC';

${kafka_sources}
${validation_views}
EXECUTE STATEMENT SET
BEGIN
${inserts}
END;
