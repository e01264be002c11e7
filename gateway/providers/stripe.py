"""Stripe webhooks: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=...][,v0=...]`.

The signature is HMAC-SHA256 of `"{t}.{raw body}"` with the endpoint's `whsec_` secret
(https://docs.stripe.com/webhooks#verify-manually). Any `v1` may match any configured
secret (Stripe sends one per active secret while one is being rolled); other schemes are
ignored, so a header with only `v0` is refused. Timestamps further than the tolerance
from now, in either direction, are refused against replays.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.providers.base import (
    MissingRoutingField,
    Provider,
    SignatureRejected,
    required_string,
)
from gateway.settings import GatewaySettings

SIGNATURE_HEADER = "stripe-signature"
SCHEME = "v1"
# The key of events on the platform's own account, which carry no `account`.
PLATFORM_KEY = "platform"


def stripe_signature(body: bytes, secret: str, timestamp: int) -> str:
    """The hex v1 signature of `body` at `timestamp`."""
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign_stripe(body: bytes, secrets: tuple[str, ...], timestamp: int) -> dict[str, str]:
    """The header Stripe sends: one v1 signature per secret."""
    signatures = ",".join(f"{SCHEME}={stripe_signature(body, s, timestamp)}" for s in secrets)
    return {"Stripe-Signature": f"t={timestamp},{signatures}"}


def parse_header(header: str) -> tuple[int, list[str]]:
    """The timestamp and the v1 signatures; raises SignatureRejected when unusable."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        scheme, _, value = item.strip().partition("=")
        if scheme == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureRejected("Stripe-Signature has no valid timestamp") from None
        elif scheme == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise SignatureRejected("Stripe-Signature has no timestamp")
    if not signatures:
        raise SignatureRejected("Stripe-Signature has no v1 signature")
    return timestamp, signatures


@dataclass(frozen=True)
class StripeVerifier:
    secrets: tuple[str, ...]
    tolerance_seconds: int

    def verify(self, body: bytes, headers: Mapping[str, str], now: float) -> None:
        header = headers.get(SIGNATURE_HEADER)
        if not header:
            raise SignatureRejected("missing Stripe-Signature header")
        timestamp, signatures = parse_header(header)
        expected = [stripe_signature(body, secret, timestamp) for secret in self.secrets]
        # Every pair is compared, so the time taken says nothing about which one matched.
        matches = [
            hmac.compare_digest(want.encode(), got.encode("latin-1", "replace"))
            for want in expected
            for got in signatures
        ]
        if not any(matches):
            raise SignatureRejected("no Stripe-Signature v1 signature matches")
        if abs(now - timestamp) > self.tolerance_seconds:
            raise SignatureRejected("Stripe-Signature timestamp is outside the tolerance")


def verifier(settings: GatewaySettings) -> StripeVerifier | None:
    secrets = settings.stripe_secrets
    if not secrets:
        return None
    return StripeVerifier(secrets, settings.stripe_tolerance_seconds)


def routing_key(event: dict[str, Any]) -> str:
    """The connected account (acct_...), or the platform's own account when absent."""
    required_string(event, "id")
    required_string(event, "type")
    account = event.get("account")
    if account is None or account == "":
        return PLATFORM_KEY
    if not isinstance(account, str):
        raise MissingRoutingField("'account' is not a string")
    return account


PROVIDER = Provider(
    name="stripe",
    signature_headers=("Stripe-Signature",),
    verifier=verifier,
    routing_key=routing_key,
)
