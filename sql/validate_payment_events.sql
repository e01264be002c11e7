-- The validation job: every raw payment event from Kafka lands, exactly once, in its
-- bronze table (normalised and typed) or its quarantine table (as read, with reasons).
--
-- The rules are data (validation/rules.py, contracts/); flink_jobs/validation_job.py
-- renders them into the three blocks below, one section per event type:
--   raw_sources  a raw Kafka source per topic (flink_jobs/ddl.py kafka_raw_source)
--   rule_views   per type, the views extracted -> cleaned -> parsed -> typed ->
--                amounts -> checked (validation/flink_sql.py render_views)
--   inserts      per type, valid rows to bronze, the rest to quarantine
-- Read the whole job with `make sql JOB=payments-validation`; `make submit` writes what
-- it runs to .run/flink/jobs/payments-validation.sql.
--
-- The job's configuration (flink_jobs/ddl.py job_configuration): pipeline.name,
-- exactly-once checkpoints (Iceberg commits on them: the interval is the data's
-- freshness), parallelism, UTC as the local time zone.
${configuration}

-- The jobs' own functions (flink_jobs/udf, built by `make setup`): JSON_MEMBERS parses
-- each message once for every field the views read.
${functions}

${raw_sources}
${rule_views}
EXECUTE STATEMENT SET
BEGIN
${inserts}
END;
