"""The gateway's settings, from the environment (contract §7 names them).

Secrets have no default: a provider whose secret is not configured refuses every request
(the gateway never fails open). `gateway/dev.env` holds the local development values;
`python -m gateway --env-file gateway/dev.env` and the simulator read it, the ASGI app
`gateway.main:app` reads only the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from streaming.settings import KafkaSettings

DEV_ENV_FILE = Path(__file__).with_name("dev.env")
MIB = 1024 * 1024


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
    # Prefixed to every topic the gateway writes; only tests set it, to stay on their own.
    topic_prefix: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)

    @property
    def stripe_secrets(self) -> tuple[str, ...]:
        if self.stripe_webhook_secrets is None:
            return ()
        values = self.stripe_webhook_secrets.get_secret_value().split(",")
        return tuple(value.strip() for value in values if value.strip())

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
