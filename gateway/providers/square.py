"""Square webhooks: `x-square-hmacsha256-signature`.

The signature is the base64 HMAC-SHA256 of the notification URL (as configured for the
subscription) followed by the raw body, with the subscription's signature key
(https://developer.squareup.com/docs/webhooks/step3validate).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.providers.base import Provider, SignatureRejected, required_string
from gateway.settings import GatewaySettings

SIGNATURE_HEADER = "x-square-hmacsha256-signature"


def square_signature(body: bytes, key: str, notification_url: str) -> str:
    mac = hmac.new(key.encode(), notification_url.encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def sign_square(body: bytes, key: str, notification_url: str) -> dict[str, str]:
    return {SIGNATURE_HEADER: square_signature(body, key, notification_url)}


@dataclass(frozen=True)
class SquareVerifier:
    key: str
    notification_url: str

    def verify(self, body: bytes, headers: Mapping[str, str], now: float) -> None:
        header = headers.get(SIGNATURE_HEADER)
        if not header:
            raise SignatureRejected(f"missing {SIGNATURE_HEADER} header")
        expected = square_signature(body, self.key, self.notification_url)
        if not hmac.compare_digest(expected.encode(), header.encode("latin-1", "replace")):
            raise SignatureRejected(f"{SIGNATURE_HEADER} does not match")


def verifier(settings: GatewaySettings) -> SquareVerifier | None:
    key = settings.square_signature_key
    url = settings.square_notification_url
    if key is None or not key.get_secret_value() or not url:
        return None
    return SquareVerifier(key.get_secret_value(), url)


def routing_key(event: dict[str, Any]) -> str:
    required_string(event, "event_id")
    required_string(event, "type")
    return required_string(event, "merchant_id")


PROVIDER = Provider(
    name="square",
    signature_headers=("x-square-hmacsha256-signature",),
    verifier=verifier,
    routing_key=routing_key,
)
