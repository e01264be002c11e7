"""The inference service: fraud, churn and retry-strategy scores for unified payment events."""
