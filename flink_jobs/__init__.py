"""Flink jobs of the platform and their submitter."""
