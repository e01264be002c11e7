"""Runs the Flink jobs of `flink_jobs` on the local cluster: submit/stop policy, runners,
the Flink REST client and restore points."""
