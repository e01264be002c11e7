-- The enrichment sink: `payments.enriched` -> Iceberg `payment_enrichments`, one row per
-- event_id, and every message that is not a valid result -> `quarantine_payment_enrichments`
-- with its reasons (flink_jobs/enrichment_checks.py), so one bad message can never stop
-- the job. The enrichment workflows write each result once, but a retried publish
-- activity (or a re-run failed batch) can write it again, so the job keeps the first
-- valid result of each event_id and drops later copies. The dedupe state expires after
-- `table.exec.state.ttl` (below): a copy can only follow its original by the length of a
-- workflow's retries, far shorter. flink_jobs/enrichment_job.py fills the placeholders;
-- read the whole job with `make sql JOB=payments-enrichment-sink`.
--
-- The job's configuration (flink_jobs/ddl.py job_configuration): pipeline.name,
-- exactly-once checkpoints (Iceberg commits on them: the interval is the data's
-- freshness), parallelism, UTC as the local time zone and the dedupe
-- state's TTL (table.exec.state.ttl).
${configuration}

-- The topic as text (flink_jobs/ddl.py kafka_raw_source), with its processing time.
${source}
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
INSERT INTO ${table}
SELECT ${column_names}
FROM first_result_per_event;

INSERT INTO ${quarantine_table}
SELECT
  ${quarantine_projection}
FROM enriched_checked
WHERE reasons_csv <> '';
END;
