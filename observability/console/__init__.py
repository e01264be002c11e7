"""The operator console: one server-rendered page of the whole pipeline (issue #16).

Per stage the topic's message rate, per consumer group its lag, the Flink jobs and their
checkpoints, the quarantine tables and their reasons, the enrichments, the firing alerts,
and links to each UI. `settings` -> `gather` (one function per source) -> `app`.
"""
