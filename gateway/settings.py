"""The gateway's settings, from the environment (contract §7 names them).

Secrets have no default: a provider whose secret is not configured refuses every request
(the gateway never fails open). Nothing secret is committed: `make up` generates the local
values into `.run/secrets/gateway.env` (mode 0600); `python -m gateway --env-file
.run/secrets/gateway.env` and the simulator read it, the ASGI app `gateway.main:app` reads
only the environment. A secret this repository once committed is refused at start.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.paths import RUN_DIR, SECRETS_DIR
from streaming.settings import KafkaSettings

# Generated at the first `make up` (deploy/local/secret_files.py), ignored by git.
LOCAL_SECRETS_FILE = SECRETS_DIR / "gateway.env"
# SHA-256 of the secrets the old committed gateway/dev.env held: anyone can sign with them.
COMMITTED_SECRET_SHA256 = frozenset(
    {
        "77b1dc0749dbf71936bd4a21dd5d96bec23e696abe7d539c6b9d58ce3e990b3f",
        "66c6a58a79bca0e90d9b9ad8bf5e420ae16fdf2a2d847bf89779dabc3f084381",
        "833e402d87ebb3d45dbad3b973124fc07ddff4300c27173389a9f9c26ce06173",
    }
)
MIB = 1024 * 1024
# Room for a record's key, headers and batch framing above the body itself.
RECORD_HEADROOM_BYTES = 64 * 1024


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", frozen=True, extra="ignore")

    # Comma-separated; all are accepted, so a secret can be rolled without downtime.
    stripe_webhook_secrets: SecretStr | None = None
    square_signature_key: SecretStr | None = None
    # Square signs the URL it posts to, as configured in its developer portal.
    square_notification_url: str | None = None
    max_body_bytes: int = Field(default=MIB, ge=1)
    stripe_tolerance_seconds: int = Field(default=300, ge=1)
    # How long a request waits for Kafka's delivery report before answering 503.
    produce_timeout_seconds: float = Field(default=5.0, gt=0)
    ready_timeout_seconds: float = Field(default=2.0, gt=0)
    # Webhook requests handled at once; one more is answered 503 at once (the provider
    # retries) rather than waiting in memory with its body.
    max_in_flight_requests: int = Field(default=256, ge=1)
    # A client that has not sent its whole body by then is answered 408: a slow or stalled
    # sender must not hold a slot for good.
    body_read_timeout_seconds: float = Field(default=10.0, gt=0)
    # The producer's local queue while Kafka is slow or down; when it is full the request
    # is answered 503. (librdkafka's own defaults, 1 GiB and 100,000 messages, would let
    # the gateway's memory grow by that much during an outage.)
    producer_queue_max_kbytes: int = Field(default=64 * 1024, ge=1)
    producer_queue_max_messages: int = Field(default=10_000, ge=1)
    # The least time between two producers: after a fatal error the producer is replaced,
    # but not in a tight loop when the new one fails the same way.
    producer_restart_backoff_seconds: float = Field(default=1.0, ge=0)
    # /docs and /openapi.json describe the API to anyone who can reach the port: off
    # unless asked for (local development, the schema-driven fuzz test).
    docs_enabled: bool = False
    # Prefixed to every topic the gateway writes; only tests set it, to stay on their own.
    topic_prefix: str = ""
    # uvicorn worker processes sharing the port (each with its own Kafka producer); 2 on
    # this 2-core box measured best (bench/RESULTS.md). More than one puts the Prometheus
    # metrics in multiprocess mode (gateway.metrics).
    workers: int = Field(default=2, ge=1)
    # Where the workers' metric files go (emptied at each start); a second gateway on the
    # same box (a test's, a benchmark's) needs a folder of its own.
    metrics_dir: Path = RUN_DIR / "gateway" / "metrics"
    # A log line for every accepted webhook costs about a tenth of a request's time; the
    # counters on /metrics count them. Refusals, DLQ routings and errors are always logged.
    log_accepted: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)

    @model_validator(mode="after")
    def _queue_holds_a_body_at_the_limit(self) -> Self:
        if self.producer_queue_max_kbytes * 1024 < self.max_body_bytes + RECORD_HEADROOM_BYTES:
            raise ValueError(
                "GATEWAY_PRODUCER_QUEUE_MAX_KBYTES must hold one body at GATEWAY_MAX_BODY_BYTES"
                f" plus {RECORD_HEADROOM_BYTES // 1024} KiB of record overhead"
            )
        return self

    @model_validator(mode="after")
    def _no_committed_secret(self) -> Self:
        keys = [self.square_signature_key.get_secret_value()] if self.square_signature_key else []
        for secret in (*self.stripe_secrets, *keys):
            if is_committed_secret(secret):
                raise ValueError(
                    "a webhook secret is one this repository once committed (gateway/dev.env):"
                    " anyone can sign with it; `make up` generates local secrets into"
                    f" {LOCAL_SECRETS_FILE}"
                )
        return self

    @property
    def stripe_secrets(self) -> tuple[str, ...]:
        if self.stripe_webhook_secrets is None:
            return ()
        values = self.stripe_webhook_secrets.get_secret_value().split(",")
        return tuple(value.strip() for value in values if value.strip())

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


def is_committed_secret(secret: str) -> bool:
    return hashlib.sha256(secret.encode()).hexdigest() in COMMITTED_SECRET_SHA256
