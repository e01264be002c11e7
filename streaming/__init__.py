"""Kafka plumbing for the payment streams: topic definitions (`topics`) and generated load
from the JR templates in `jr_templates/` (`load`)."""
