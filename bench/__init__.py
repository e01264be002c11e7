"""Benchmarks of the local platform: `python -m bench` (`make bench`).

Every benchmark measures one part of the platform next to a ceiling measured in the same
run on the same machine (a bare HTTP app, a pass-through Flink job, ...). They report
figures, never pass or fail; `bench/RESULTS.md` keeps the last run's figures.
"""
