"""The Temporal side stream: `payments.normalized` -> enrichment workflows -> `payments.enriched`.

`python -m workflows.bridge` starts one enrichment workflow per micro-batch of Kafka
offsets; `python -m workflows.worker` runs the workflows and their activities.
"""
