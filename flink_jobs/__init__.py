"""The Flink jobs of the platform, as SQL scripts rendered from settings (`registry.py`)."""
