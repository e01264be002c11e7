"""The registry of webhook providers: a new provider is one module and one line here."""

from __future__ import annotations

from gateway.providers import square, stripe
from gateway.providers.base import Provider

PROVIDERS: dict[str, Provider] = {
    provider.name: provider
    for provider in (
        stripe.PROVIDER,
        square.PROVIDER,
    )
}
