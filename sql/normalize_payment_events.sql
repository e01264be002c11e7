-- The normalisation job: Stripe and Square raw topics -> unified events (contract §5).
-- Each raw message lands in exactly one place: `payments` and `payments.normalized` (the
-- first delivery of a provider event), `quarantine_payments` (with its reasons) or
-- `payment_redeliveries` (a later delivery of a provider event id).
--
-- The provider mappings are data (normalization/providers.py); flink_jobs/
-- normalization_job.py renders them into the blocks below:
--   raw_sources      a raw Kafka source per provider (flink_jobs/ddl.py kafka_raw_source)
--   normalized_sink  the `payments.normalized` topic, keyed by merchant_id, written in
--                    Kafka transactions that commit with each checkpoint (exactly once)
--   mapping_views    per provider envelope -> mapped -> unified, then one chain for all:
--                    parsed -> typed -> checked -> deliveries (normalization/flink_sql.py)
--   inserts          the four outputs, in one statement set
-- Read the whole job with `make sql JOB=payments-normalization`; `make submit` writes
-- what it runs to .run/flink/jobs/payments-normalization.sql.
--
-- The job's configuration (flink_jobs/ddl.py job_configuration): pipeline.name,
-- exactly-once checkpoints (Iceberg commits on them: the interval is the data's
-- freshness), parallelism, UTC as the local time zone and the dedup
-- state's TTL (table.exec.state.ttl, the redeliveries' numbering per event id).
${configuration}

-- The jobs' own functions (flink_jobs/udf, built by `make setup`): JSON_MEMBERS parses
-- each message once for every field the views read.
${functions}

${raw_sources}
${normalized_sink}
${mapping_views}
EXECUTE STATEMENT SET
BEGIN
${inserts}
END;
