"""The webhook simulator: signed Stripe and Square events sent to the gateway.

Library API: `generate_events` (deterministic from a seed) and `post_events` (sends them,
returns one `Outcome` per request). `python -m loadgen.webhooks --help` for the CLI.
"""

from loadgen.webhooks.events import Kind, Mix, SimEvent, generate_events
from loadgen.webhooks.sender import Credentials, Outcome, post_events

__all__ = [
    "Credentials",
    "Kind",
    "Mix",
    "Outcome",
    "SimEvent",
    "generate_events",
    "post_events",
]
