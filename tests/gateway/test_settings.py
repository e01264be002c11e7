"""The gateway reads exactly the environment names of contract §7."""

from __future__ import annotations

from deploy.local.secret_files import ensure_platform_secrets
from gateway.settings import MIB, GatewaySettings
from loadgen.webhooks import Credentials


def test_contract_environment_names(monkeypatch):
    monkeypatch.setenv("GATEWAY_STRIPE_WEBHOOK_SECRETS", "whsec_a, whsec_b")
    monkeypatch.setenv("GATEWAY_SQUARE_SIGNATURE_KEY", "sq-key")
    monkeypatch.setenv("GATEWAY_SQUARE_NOTIFICATION_URL", "https://example.test/webhooks/square")
    monkeypatch.setenv("GATEWAY_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("GATEWAY_STRIPE_TOLERANCE_SECONDS", "60")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    settings = GatewaySettings()
    assert settings.stripe_secrets == ("whsec_a", "whsec_b")
    assert settings.square_signature_key is not None
    assert settings.square_signature_key.get_secret_value() == "sq-key"
    assert settings.square_notification_url == "https://example.test/webhooks/square"
    assert (settings.max_body_bytes, settings.stripe_tolerance_seconds) == (2048, 60)
    assert settings.kafka.bootstrap_servers == "127.0.0.1:19092"
    assert "whsec_a" not in repr(settings)  # secrets stay out of reprs and logs


def test_defaults_and_no_secrets(monkeypatch):
    for name in ("STRIPE_WEBHOOK_SECRETS", "SQUARE_SIGNATURE_KEY", "SQUARE_NOTIFICATION_URL"):
        monkeypatch.delenv(f"GATEWAY_{name}", raising=False)
    settings = GatewaySettings()
    assert settings.stripe_secrets == ()
    assert settings.square_signature_key is None
    assert (settings.max_body_bytes, settings.stripe_tolerance_seconds) == (MIB, 300)


def test_generated_secrets_have_two_stripe_secrets_and_the_local_square_url(monkeypatch, tmp_path):
    for name in ("STRIPE_WEBHOOK_SECRETS", "SQUARE_SIGNATURE_KEY", "SQUARE_NOTIFICATION_URL"):
        monkeypatch.delenv(f"GATEWAY_{name}", raising=False)
    *_, gateway_env = ensure_platform_secrets(
        8000, tmp_path / "pg.env", tmp_path / "catalog.env", tmp_path / "gateway.env"
    )
    settings = GatewaySettings(_env_file=gateway_env)  # type: ignore[call-arg]
    assert len(settings.stripe_secrets) == 2
    assert all(secret.startswith("whsec_") for secret in settings.stripe_secrets)
    assert settings.square_notification_url == "http://127.0.0.1:8000/webhooks/square"
    # The simulator signs with what the gateway checks, from the same file.
    credentials = Credentials(_env_file=gateway_env)  # type: ignore[call-arg]
    assert credentials.stripe_secret == settings.stripe_secrets[0]
