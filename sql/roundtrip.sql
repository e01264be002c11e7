-- The platform's round trip: JSON events from Kafka, through a Flink SQL job, into an
-- Iceberg table of the shared catalog. Run by deploy/local/roundtrip.py, which
-- fills the placeholders; the job stops once it has read what the topic held when it began.
SET 'execution.runtime-mode' = 'batch';
SET 'table.dml-sync' = 'true';
SET 'restart-strategy.type' = 'none';
SET 'pipeline.name' = 'roundtrip';

CREATE TEMPORARY TABLE roundtrip_source (
  payload STRING,
  kafka_partition INT METADATA FROM 'partition' VIRTUAL,
  kafka_offset BIGINT METADATA FROM 'offset' VIRTUAL
) WITH (
  'connector' = 'kafka',
  'topic' = '${topic}',
  'properties.bootstrap.servers' = '${bootstrap_servers}',
  'properties.group.id' = 'roundtrip',
  'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset',
  'format' = 'raw'
);

CREATE TABLE IF NOT EXISTS ${catalog}.${namespace}.${table} (
  event_id STRING,
  amount DECIMAL(18, 4),
  kafka_partition INT,
  kafka_offset BIGINT
);

INSERT OVERWRITE ${catalog}.${namespace}.${table}
SELECT
  JSON_VALUE(payload, '$.event_id'),
  CAST(JSON_VALUE(payload, '$.amount') AS DECIMAL(18, 4)),
  kafka_partition,
  kafka_offset
FROM roundtrip_source;
