"""The webhook gateway: verifies provider webhooks and writes them to Kafka (contract §7)."""
