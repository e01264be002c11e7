"""Multi-provider normalisation (contract §5): provider mappings as data, rendered to Flink SQL."""
