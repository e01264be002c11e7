-- Registers the shared Iceberg catalog `lakehouse` in a Flink SQL session.
-- Its placeholders are filled by deploy/local/render.py into .run/conf/flink/init.sql
-- (`make flink-sql` opens the SQL client with it).
CREATE CATALOG ${catalog_name} WITH (
  'type' = 'iceberg',
  'catalog-impl' = 'org.apache.iceberg.jdbc.JdbcCatalog',
  'uri' = '${jdbc_uri}',
  'jdbc.user' = '${catalog_db_user}',
  'jdbc.password' = '${catalog_db_password}',
  'jdbc.schema-version' = 'V1',
  'warehouse' = '${warehouse}'
);
