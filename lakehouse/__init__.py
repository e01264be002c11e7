"""Clients for the shared Iceberg catalog `lakehouse` and for Trino."""
